#ifndef KB_TESTS_ATTACK_ATTACK_CLIENT_H_
#define KB_TESTS_ATTACK_ATTACK_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/broker_process.h"

namespace kb {

// What the attack suites share: a legitimate guest to prove the broker still serves, and
// what an attacker's effect on the broker process looks like from outside.

// A software-TPM guest registered as `machine` whose policy on `key_id` allows it by PCR 7.
// Created through the admin API of `broker` (as the admin operator).
absl::StatusOr<std::unique_ptr<SoftwareTpm>> MakeGuest(const BrokerProcess& broker,
                                                       const std::string& machine,
                                                       const std::string& key_id);

// GetChallenge + ReleaseKey from a fresh channel, both within `deadline` in all.
absl::StatusOr<v1::ReleaseKeyResponse> ReleaseWithin(const BrokerProcess& broker, Tpm& tpm,
                                                     const std::string& key_id,
                                                     absl::Duration deadline);

// One unary call of `method` ("/pkg.Service/Method") with `request` as the raw message bytes,
// over `channel`, within `deadline`: how an attacker sends what no stub would build.
grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& request, std::string* response,
                          absl::Duration deadline = absl::Seconds(10));

// Whether this build runs under a sanitizer, whose shadow memory makes RSS figures meaningless.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

// Resident memory of process `pid` in KiB (VmRSS), 0 if unknown.
size_t RssKib(pid_t pid);

// Lines of the broker's log containing `needle`.
int CountLogLines(const BrokerProcess& broker, const std::string& needle);

}  // namespace kb

#endif  // KB_TESTS_ATTACK_ATTACK_CLIENT_H_
