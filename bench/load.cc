#include "bench/load.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/binding.h"
#include "common/files.h"

namespace kb {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<grpc::Channel> NewChannel(const Endpoint& endpoint) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = endpoint.ca_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a real new TCP + TLS connection
  return grpc::CreateCustomChannel(endpoint.address, grpc::SslCredentials(options), args);
}

}  // namespace

v1::ReleaseKeyRequest BuildRequest(SoftwareTpm& tpm, const v1::GetChallengeResponse& c) {
  std::string pub = *tpm.CreateTransferKey(TransferKeyType::kEccP256);
  std::string binding = ComputeBinding(c.nonce(), "bench", pub);
  v1::ReleaseKeyRequest r;
  r.set_challenge_id(c.challenge_id());
  r.set_key_id("bench");
  *r.mutable_transfer_key()->mutable_tpm() = *tpm.CertifyTransferKey(binding);
  *r.mutable_evidence()->mutable_tpm_quote() = *tpm.Quote(binding, {0, 1, 2, 3, 4, 5, 6, 7});
  return r;
}

std::vector<Guest> TpmGuests(std::vector<std::unique_ptr<SoftwareTpm>>& tpms) {
  std::vector<Guest> guests;
  for (auto& tpm : tpms) {
    SoftwareTpm* t = tpm.get();
    guests.push_back([t](const v1::GetChallengeResponse& c) { return BuildRequest(*t, c); });
  }
  return guests;
}

Endpoint EndpointOf(const BrokerProcess& broker) {
  return {broker.release_endpoint(), *ReadFile(broker.Path("ca.pem"))};
}

RunResult RunLoad(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms,
                  const LoadConfig& cfg, bool new_connection_each) {
  return RunLoad(std::vector<Endpoint>{EndpointOf(broker)}, tpms, cfg, new_connection_each);
}

RunResult RunLoad(const std::vector<const BrokerProcess*>& brokers,
                  std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const LoadConfig& cfg,
                  bool new_connection_each) {
  std::vector<Endpoint> endpoints;
  for (const BrokerProcess* b : brokers) endpoints.push_back(EndpointOf(*b));
  return RunLoad(endpoints, tpms, cfg, new_connection_each);
}

RunResult RunLoad(const std::vector<Endpoint>& endpoints,
                  std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const LoadConfig& cfg,
                  bool new_connection_each) {
  return RunLoad(endpoints, TpmGuests(tpms), cfg, new_connection_each);
}

RunResult RunLoad(const std::vector<Endpoint>& endpoints, const std::vector<Guest>& guests,
                  const LoadConfig& cfg, bool new_connection_each) {
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> errors{0};
  const auto deadline = Clock::now() + std::chrono::duration<double>(cfg.seconds);
  auto worker = [&](const Guest* guest, const Endpoint* endpoint) {
    auto stub = v1::KeyRelease::NewStub(NewChannel(*endpoint));
    std::vector<double> mine;
    while (Clock::now() < deadline) {
      if (new_connection_each) stub = v1::KeyRelease::NewStub(NewChannel(*endpoint));
      v1::GetChallengeRequest cr;
      cr.set_key_id("bench");
      v1::GetChallengeResponse challenge;
      auto t0 = Clock::now();
      grpc::ClientContext c1;
      if (!stub->GetChallenge(&c1, cr, &challenge).ok()) {
        ++errors;
        continue;
      }
      auto t1 = Clock::now();
      v1::ReleaseKeyRequest request = (*guest)(challenge);  // the guest's evidence work
      auto t2 = Clock::now();
      v1::ReleaseKeyResponse response;
      grpc::ClientContext c2;
      if (!stub->ReleaseKey(&c2, request, &response).ok()) {
        ++errors;
        continue;
      }
      auto t3 = Clock::now();
      mine.push_back(std::chrono::duration<double, std::milli>((t1 - t0) + (t3 - t2)).count());
    }
    std::lock_guard<std::mutex> lock(mu);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < guests.size(); ++i) {
    threads.emplace_back(worker, &guests[i], &endpoints[i % endpoints.size()]);
  }
  for (auto& t : threads) t.join();
  std::sort(latencies.begin(), latencies.end());
  RunResult r;
  r.errors = errors;
  if (latencies.empty()) return r;
  r.releases_per_second = latencies.size() / cfg.seconds;
  r.p50_ms = latencies[latencies.size() / 2];
  r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  return r;
}

namespace {

// The fields of /proc/PID/stat from the third (state) on; the command name before them may
// hold spaces, so they start behind its last ')'. Empty when the process is gone.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::vector<std::string> fields;
  if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) return fields;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

}  // namespace

double CpuSeconds(pid_t pid, bool with_reaped_children) {
  const std::vector<std::string> f = StatFields(pid);
  const size_t last = with_reaped_children ? 17 : 15;  // utime 14, stime 15, cutime, cstime
  if (f.size() < last - 2) return 0;
  double ticks = 0;
  for (size_t field = 14; field <= last; ++field) ticks += std::stod(f[field - 3]);
  return ticks / sysconf(_SC_CLK_TCK);
}

pid_t ParentPid(pid_t pid) {
  const std::vector<std::string> f = StatFields(pid);
  return f.size() < 2 ? -1 : std::stoi(f[1]);
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

long PeakRssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void Setup(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms) {
  auto admin = broker.AdminStub();
  std::string machines;
  for (size_t i = 0; i < tpms.size(); ++i) {
    v1::RegisterAttestationKeyRequest r;
    r.set_machine(absl::StrCat("bench-", i));
    r.set_ak_public(*tpms[i]->AttestationKeyPublic());
    v1::AttestationKeyInfo info;
    grpc::ClientContext ctx;
    if (!admin->RegisterAttestationKey(&ctx, r, &info).ok()) std::abort();
    machines += absl::StrCat(i ? "," : "", "\"bench-", i, "\"");
  }
  v1::CreateKeyRequest create;
  create.set_key_id("bench");
  v1::KeyMetadata meta;
  v1::SetPolicyRequest policy;
  policy.set_key_id("bench");
  policy.set_policy_json(absl::StrCat(R"({"allow":[{"machines":[)", machines,
                                      R"(],"pcrs":[{"index":7,"allowed":[")", std::string(64, '0'),
                                      R"("]}]}]})"));
  v1::SetPolicyResponse resp;
  grpc::ClientContext c1, c2;
  if (!admin->CreateKey(&c1, create, &meta).ok() || !admin->SetPolicy(&c2, policy, &resp).ok()) {
    std::abort();
  }
}

}  // namespace kb
