#ifndef KB_KEYBROKER_SERVICE_RELEASE_SERVICE_H_
#define KB_KEYBROKER_SERVICE_RELEASE_SERVICE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/sync/mutex.h"
#include "common/withheld.h"
#include "kb/v1/policy.pb.h"
#include "kb/v1/release.pb.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/service/challenge_quota.h"
#include "keybroker/service/refusal_tally.h"
#include "keybroker/service/release_observer.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/challenge_store.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/machine_key_state.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/store/release_reads.h"
#include "keybroker/verifiers/api/evidence_verifier.h"

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
    // Where enrolment confirmations go; null: ConfirmEnrolment is FAILED_PRECONDITION.
    EnrolmentConfirmations* confirmations = nullptr;
    // Where allowed releases record their offline grant; null: not recorded.
    OfflineGrants* grants = nullptr;
    // Bounds outstanding challenges in all and per client address; null: unbounded.
    ChallengeQuota* challenge_quota = nullptr;
    // Counts requests refused before any evidence was checked instead of auditing each;
    // null: each is audited.
    RefusalTally* refusals = nullptr;
    // Told of every release and confirmation decision (metrics); null: nobody.
    ReleaseObserver* observer = nullptr;
    // The registered AKs, where the machine of a TPM quote's AK is found when the verifier
    // leaves that to the service (TpmQuoteVerifier without a registry) and `reads` is null.
    AttestationKeyRegistry* aks = nullptr;
    // The store's part of a release as one call (PostgreSQL's single statement, SQLite's one
    // read transaction); null: through `challenges`, `aks`, `keys`, `denylist` and
    // `revocations` one by one. It must spend challenges from the same store as `challenges`,
    // which GetChallenge issues into and a refused request's challenge is spent from.
    ReleaseReads* reads = nullptr;
  };
  ReleaseService(Deps deps, absl::Duration challenge_ttl)
      : d_(deps),
        challenge_ttl_(challenge_ttl),
        separate_reads_({deps.challenges, deps.aks, deps.keys, deps.denylist, deps.revocations}),
        reads_(deps.reads != nullptr ? deps.reads : &separate_reads_) {}

  // INVALID_ARGUMENT for a malformed key id; UNAVAILABLE if the store is down;
  // RESOURCE_EXHAUSTED when the client's address (from `peer`, gRPC's peer string) or the
  // broker holds the most outstanding challenges the quota allows.
  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest& request,
                                                        absl::string_view peer = "");

  // See the error contract on KeyRelease.ReleaseKey in proto/kb/v1/release.proto. Every
  // decision is audited with `peer` (or the attested machine) as the actor, the evidence
  // digest and the policy version. A machine on the deny list is refused after attestation
  // (PERMISSION_DENIED "machine denied by operator"). The newest non-retired version is wrapped.
  // While an operator revoked the key's offline grace for the machine (or every machine),
  // offline_boots is 0 whatever the policy grants.
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& request,
                                                    absl::string_view peer);

  // See the contract on KeyRelease.ConfirmEnrolment in proto/kb/v1/release.proto
  // (enrolment_confirmation.cc). Records the attested machine's enrolled version; every
  // decision is audited as "confirm_enrolment" like a release.
  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& request, absl::string_view peer);

 private:
  // What the audit record of a decision says besides its outcome.
  struct Decision {
    std::string actor;
    std::string source;             // the client's address
    bool evidence_checked = false;  // set once verification starts
    // The step under way, for the metrics of a refusal (ReleaseOutcome::check).
    absl::string_view step = "request";
    uint32_t key_version = 0;
    uint64_t policy_version = 0;
    std::string reason;
  };
  absl::StatusOr<v1::ReleaseKeyResponse> Decide(const v1::ReleaseKeyRequest& request,
                                                Decision& decision);
  absl::StatusOr<v1::ConfirmEnrolmentResponse> DecideConfirmation(
      const v1::ConfirmEnrolmentRequest& request, Decision& decision);
  // Appends the audit record of a release or confirmation; UNAVAILABLE if it cannot.
  absl::Status Audit(absl::string_view action, const std::string& key_id, const Decision& decision,
                     const absl::Status& result, const v1::Evidence* evidence);
  // Audits the decision, tells the observer, and returns the audit's failure or `result`.
  template <typename T>
  absl::StatusOr<T> Finish(absl::string_view action, const std::string& key_id,
                           const Decision& decision, absl::StatusOr<T> result,
                           const v1::Evidence* evidence, absl::Time start);
  void Report(absl::string_view action, const Decision& decision, const absl::Status& result,
              const v1::Evidence* evidence, absl::Time start);
  using BindingFn =
      absl::FunctionRef<std::string(absl::string_view nonce, absl::string_view transfer_public)>;
  // What the attestation step needs of a request.
  struct AttestationInput {
    absl::string_view challenge_id, key_id;
    uint32_t version;  // the key version the records are read for (0: the newest)
    const v1::Evidence& evidence;
    const v1::TransferKey& transfer_key;
  };
  // What it establishes: the verified claims, with the attested machine, and the store's
  // records for the request (ReleaseReads).
  struct Attested {
    Claims claims;
    ReleaseRecords records;
  };
  // The attestation step shared by releases and confirmations (attestation.cc). The verifier
  // checks that the evidence is genuine and carries bind(nonce, transfer key's public bytes),
  // the nonce being the challenge id's bytes; then one store read spends the challenge, finds
  // the attested machine (the registration of a TPM quote's AK) and reads the records. ABORTED
  // when the challenge is unknown, spent, expired or issued for another key id; the verifier's
  // refusal, or ak_trusted when the AK is not registered; PERMISSION_DENIED for a machine on
  // the deny list. Records the attested machine as the decision's actor.
  absl::StatusOr<Attested> Attest(const AttestationInput& in, BindingFn bind, Decision& decision);
  // Once the verifier has refused: spends the challenge, so that a request without a valid
  // challenge is refused for that, before any evidence check, as when challenges were spent
  // first (its refusal is counted, not audited). OK when the challenge was valid.
  absl::Status SpendAfterRefusal(absl::string_view challenge_id, absl::string_view key_id);
  // ABORTED unless `challenge` (as spent) exists, was issued for `key_id` and has not expired.
  absl::Status CheckChallenge(const std::optional<Challenge>& challenge, absl::string_view key_id);
  // Zeroes the offline grace of `allowed` while an operator revocation of the key's grace
  // applies to the attested machine (as `records` read it), noting it (with its reason) in the
  // audit reason.
  absl::Status ApplyOfflineRevocation(ReleaseRecords& records, PolicyDecision& allowed,
                                      Decision& decision);

  // Records the offline grant (or its absence) of an allowed release, when grants are kept.
  absl::Status RecordGrant(OfflineGrantRecord grant);
  // The version to wrap, `version` as read for `requested` (0: the newest non-retired one):
  // NOT_FOUND when there is none, PERMISSION_DENIED when it is retired.
  absl::StatusOr<uint32_t> ReleasableVersion(const KeyRecord& key, uint32_t requested,
                                             const std::optional<KeyVersionRecord>& version);
  // The parsed policy of `key` (cached per key id and policy version).
  absl::StatusOr<std::shared_ptr<const v1::ReleasePolicy>> Policy(const KeyRecord& key);

  Deps d_;
  absl::Duration challenge_ttl_;
  SeparateReleaseReads separate_reads_;
  ReleaseReads* const reads_;
  kb::Mutex policy_mu_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const v1::ReleasePolicy>>> policies_
      ABSL_GUARDED_BY(policy_mu_);
};

template <typename T>
absl::StatusOr<T> ReleaseService::Finish(absl::string_view action, const std::string& key_id,
                                         const Decision& decision, absl::StatusOr<T> result,
                                         const v1::Evidence* evidence, absl::Time start) {
  const absl::Status audited = Audit(action, key_id, decision, result.status(), evidence);
  Report(action, decision, audited.ok() ? result.status() : audited, evidence, start);
  if (!audited.ok()) return audited;
  if (!result.ok() && IsBrokerSideError(result.status())) {
    return WithheldFromClient(action, result.status());
  }
  return result;
}

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_RELEASE_SERVICE_H_
