#include "tests/attack/attack_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>

#include <fstream>
#include <future>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/grpc/grpc_status.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {

absl::StatusOr<std::unique_ptr<SoftwareTpm>> MakeGuest(const BrokerProcess& broker,
                                                       const std::string& machine,
                                                       const std::string& key_id) {
  auto tpm = SoftwareTpm::Create();
  if (!tpm.ok()) return tpm.status();
  (*tpm)->SetPcr(7, std::string(32, '\x07'));
  auto admin = broker.AdminStub();
  v1::RegisterAttestationKeyRequest reg;
  reg.set_machine(machine);
  reg.set_ak_public(*(*tpm)->AttestationKeyPublic());
  v1::AttestationKeyInfo info;
  v1::CreateKeyRequest create;
  create.set_key_id(key_id);
  v1::KeyMetadata meta;
  v1::SetPolicyRequest policy;
  policy.set_key_id(key_id);
  policy.set_policy_json(absl::StrCat(R"({"allow":[{"machines":[")", machine,
                                      R"("],"pcrs":[{"index":7,"allowed":[")",
                                      HexEncode(std::string(32, '\x07')), R"("]}]}]})"));
  v1::SetPolicyResponse policy_response;
  grpc::ClientContext c1, c2, c3;
  if (auto s = FromGrpcStatus(admin->RegisterAttestationKey(&c1, reg, &info)); !s.ok()) return s;
  if (auto s = FromGrpcStatus(admin->CreateKey(&c2, create, &meta)); !s.ok()) return s;
  if (auto s = FromGrpcStatus(admin->SetPolicy(&c3, policy, &policy_response)); !s.ok()) return s;
  return std::move(*tpm);
}

absl::StatusOr<v1::ReleaseKeyResponse> ReleaseWithin(const BrokerProcess& broker, Tpm& tpm,
                                                     const std::string& key_id,
                                                     absl::Duration deadline) {
  const auto until = absl::ToChronoTime(absl::Now() + deadline);
  auto stub = broker.ReleaseStub();
  v1::GetChallengeRequest challenge_request;
  challenge_request.set_key_id(key_id);
  v1::GetChallengeResponse challenge;
  grpc::ClientContext c1;
  c1.set_deadline(until);
  if (auto s = FromGrpcStatus(stub->GetChallenge(&c1, challenge_request, &challenge)); !s.ok()) {
    return s;
  }
  auto request = BuildRequest(tpm, challenge.challenge_id(), challenge.nonce(), key_id);
  if (!request.ok()) return request.status();
  v1::ReleaseKeyResponse response;
  grpc::ClientContext c2;
  c2.set_deadline(until);
  if (auto s = FromGrpcStatus(stub->ReleaseKey(&c2, *request, &response)); !s.ok()) return s;
  return response;
}

grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& request, std::string* response,
                          absl::Duration deadline) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (status.ok() && response != nullptr) {
    std::vector<grpc::Slice> slices;
    response->clear();
    if (out.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  return status;
}

size_t RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "VmRSS:")) continue;
    std::istringstream fields(line.substr(6));
    size_t kib = 0;
    fields >> kib;
    return kib;
  }
  return 0;
}

int CountLogLines(const BrokerProcess& broker, const std::string& needle) {
  std::ifstream log(broker.Path("keybrokerd.log"));
  std::string line;
  int n = 0;
  while (std::getline(log, line)) n += absl::StrContains(line, needle) ? 1 : 0;
  return n;
}

}  // namespace kb
