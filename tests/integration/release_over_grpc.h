#ifndef KB_TESTS_INTEGRATION_RELEASE_OVER_GRPC_H_
#define KB_TESTS_INTEGRATION_RELEASE_OVER_GRPC_H_

#include <grpcpp/client_context.h>

#include <chrono>
#include <string>

#include "common/grpc/grpc_status.h"
#include "tests/support/broker_process.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {

// GetChallenge + ReleaseKey against `broker` over TLS, with evidence from `tpm` built the way
// kbunlock builds it, each call bounded by `deadline` (a broker that hangs fails the test with
// DEADLINE_EXCEEDED instead of hanging it). The broker's status is returned unchanged.
inline absl::StatusOr<v1::ReleaseKeyResponse> ReleaseOverGrpc(
    const BrokerProcess& broker, Tpm& tpm, const std::string& key_id,
    std::chrono::seconds deadline = std::chrono::seconds(30)) {
  auto stub = broker.ReleaseStub();
  v1::GetChallengeRequest challenge_request;
  challenge_request.set_key_id(key_id);
  v1::GetChallengeResponse challenge;
  grpc::ClientContext c1;
  c1.set_deadline(std::chrono::system_clock::now() + deadline);
  if (absl::Status s = FromGrpcStatus(stub->GetChallenge(&c1, challenge_request, &challenge));
      !s.ok()) {
    return s;
  }
  auto request = BuildRequest(tpm, challenge.challenge_id(), challenge.nonce(), key_id);
  if (!request.ok()) return request.status();
  v1::ReleaseKeyResponse response;
  grpc::ClientContext c2;
  c2.set_deadline(std::chrono::system_clock::now() + deadline);
  if (absl::Status s = FromGrpcStatus(stub->ReleaseKey(&c2, *request, &response)); !s.ok()) {
    return s;
  }
  return response;
}

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_RELEASE_OVER_GRPC_H_
