#ifndef KB_KEYBROKER_SERVICE_RELEASE_SERVICE_H_
#define KB_KEYBROKER_SERVICE_RELEASE_SERVICE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "kb/v1/policy.pb.h"
#include "kb/v1/release.pb.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/challenge_store.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/verifiers/evidence_verifier.h"

namespace kb {

// The guest-facing release flow as plain C++ over protos (the gRPC adapter is separate).
// Dependencies are not owned and must outlive the service. Thread-safe.
class ReleaseService {
 public:
  struct Deps {
    KeyStore* keys;
    ChallengeStore* challenges;
    AuditLog* audit;
    MachineDenyList* denylist;
    EvidenceVerifier* verifier;
    const Clock* clock;
    // Operator revocations of offline grace; null: none.
    OfflineRevocations* revocations = nullptr;
  };
  ReleaseService(Deps deps, absl::Duration challenge_ttl)
      : d_(deps), challenge_ttl_(challenge_ttl) {}

  // INVALID_ARGUMENT for a malformed key id; UNAVAILABLE if the store is down.
  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest& request);

  // See the error contract on KeyRelease.ReleaseKey in proto/kb/v1/release.proto. Every
  // decision is audited with `peer` (or the attested machine) as the actor, the evidence
  // digest and the policy version. A machine on the deny list is refused after attestation
  // (PERMISSION_DENIED "machine denied by operator"). The newest non-retired version is wrapped.
  // While an operator revoked the key's offline grace for the machine (or every machine),
  // offline_boots is 0 whatever the policy grants.
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& request,
                                                    absl::string_view peer);

 private:
  struct Decision;
  absl::StatusOr<v1::ReleaseKeyResponse> Decide(const v1::ReleaseKeyRequest& request,
                                                Decision& decision);
  absl::Status CheckChallenge(const v1::ReleaseKeyRequest& request, std::string* nonce);
  absl::Status CheckMachineAllowed(absl::string_view machine);
  // Zeroes the offline grace of `allowed` while an operator revocation applies to `machine`,
  // noting it (with its reason) in the audit reason.
  absl::Status ApplyOfflineRevocation(absl::string_view key_id, absl::string_view machine,
                                      PolicyDecision& allowed, Decision& decision);

  // The version to wrap: `requested`, or the newest non-retired one when 0.
  absl::StatusOr<uint32_t> ReleasableVersion(const KeyRecord& key, uint32_t requested);
  // The parsed policy of `key` (cached per key id and policy version).
  absl::StatusOr<std::shared_ptr<const v1::ReleasePolicy>> Policy(const KeyRecord& key);

  Deps d_;
  absl::Duration challenge_ttl_;
  absl::Mutex policy_mu_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const v1::ReleasePolicy>>> policies_
      ABSL_GUARDED_BY(policy_mu_);
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_RELEASE_SERVICE_H_
