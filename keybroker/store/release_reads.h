#ifndef KB_KEYBROKER_STORE_RELEASE_READS_H_
#define KB_KEYBROKER_STORE_RELEASE_READS_H_

#include <cstdint>
#include <optional>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/challenge_store.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/offline_revocations.h"

namespace kb {

// What a release (or an enrolment confirmation) asks of the store once its evidence is verified.
struct ReleaseQuestion {
  absl::string_view challenge_id;  // the challenge the evidence answers, spent by the read
  absl::string_view key_id;
  uint32_t version = 0;  // the version asked for; 0: the newest non-retired one
  // Who the evidence names: the machine itself (TEE evidence), or the TPM name of an
  // attestation key whose registration names the machine (`machine` is then not used).
  absl::string_view machine;
  absl::string_view attestation_key;
};

// What a release reads once its evidence is verified, as of one moment: nothing here is cached
// between calls, so a change made through any replica holds for the next release.
struct ReleaseRecords {
  // The challenge as issued, spent by this read; nullopt when it is unknown or was spent
  // before (on PostgreSQL also when it was made for another key id than the question's, or
  // expired by the database's clock). Nothing below is read then.
  std::optional<Challenge> challenge;
  // The attested machine: the question's, or the one the attestation key's registration
  // names; empty when that AK is not registered. Nothing below is read then.
  std::string machine;
  std::optional<DeniedMachineRecord> denied;  // the machine's deny-list entry
  // The key with its policy; nullopt when there is no such key. Unset when `denied` is set.
  std::optional<KeyRecord> key;
  // The version asked for, or the newest non-retired one when 0 was asked for; nullopt when
  // the key has no such version (or none that is not retired).
  std::optional<KeyVersionRecord> version;
  // The operator's revocation of the key's offline grace for the machine (its own, else the
  // one for every machine), read only when called: a release with no offline grace skips it.
  absl::AnyInvocable<absl::StatusOr<std::optional<OfflineRevocationRecord>>()> revocation;
  // False only when the store knows that the machine holds no offline grant for the key: an
  // allowed release without offline grace then has no grant to remove.
  bool may_hold_offline_grant = true;
  // Opens `version`'s material; called only for a release that is allowed.
  absl::AnyInvocable<absl::StatusOr<SecretBytes>()> material;
};

// The store's part of one release as one call, so that a store can answer it with one query:
// the challenge spent, the attested machine found, and what the release reads. Thread-safe.
// UNAVAILABLE when the store is down.
class ReleaseReads {
 public:
  virtual ~ReleaseReads() = default;
  virtual absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) = 0;
};

// ReleaseRecords::challenge: the question's challenge spent in `challenges`; nullopt when it is
// unknown or was spent before (NOT_FOUND from the store).
absl::StatusOr<std::optional<Challenge>> SpendChallenge(ChallengeStore& challenges,
                                                        const ReleaseQuestion& question);

// ReleaseRecords::version for a question asking for version `asked` (0: the newest non-retired
// one) of `key`; `versions` lists the key's versions, called only for a version other than the
// active one.
absl::StatusOr<std::optional<KeyVersionRecord>> AskedVersion(
    uint32_t asked, const KeyRecord& key,
    absl::FunctionRef<absl::StatusOr<std::vector<KeyVersionRecord>>()> versions);

// ReleaseRecords::revocation through `revocations` (null: none kept).
absl::AnyInvocable<absl::StatusOr<std::optional<OfflineRevocationRecord>>()> RevocationReader(
    OfflineRevocations* revocations, absl::string_view key_id, absl::string_view machine);

// ReleaseReads through the separate role interfaces, one call each (unit tests' fakes, and a
// ReleaseService given no store reads). `revocations` may be null (none kept);
// `aks` may be null when every verifier looks up its AK itself (the question's machine is
// then taken as the AK's).
class SeparateReleaseReads final : public ReleaseReads {
 public:
  struct Stores {
    ChallengeStore* challenges;
    AttestationKeyRegistry* aks;
    KeyStore* keys;
    MachineDenyList* denylist;
    OfflineRevocations* revocations;
  };
  explicit SeparateReleaseReads(Stores stores) : s_(stores) {}
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) override;

 private:
  // The machine the question names; empty when its AK is not registered.
  absl::StatusOr<std::string> Machine(const ReleaseQuestion& question);
  // The key, the version and the offline grace records of `machine`'s release.
  absl::Status ReadKey(const ReleaseQuestion& question, ReleaseRecords& out);

  Stores s_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_RELEASE_READS_H_
