#ifndef KB_KEYBROKER_STORE_RELEASE_READS_H_
#define KB_KEYBROKER_STORE_RELEASE_READS_H_

#include <cstdint>
#include <optional>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/offline_revocations.h"

namespace kb {

// What a release reads once its machine is attested, as of one moment: nothing here is cached
// between calls, so a change made through any replica holds for the next release.
struct ReleaseRecords {
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

// The reads of one release as one call, so that a store can answer them with one query.
// Thread-safe. UNAVAILABLE when the store is down.
class ReleaseReads {
 public:
  virtual ~ReleaseReads() = default;
  // The records of `machine` releasing `version` (0: the newest) of `key_id`.
  virtual absl::StatusOr<ReleaseRecords> Read(absl::string_view key_id, absl::string_view machine,
                                              uint32_t version) = 0;
};

// ReleaseReads through the separate role interfaces, one call each (the SQLite store, whose
// reads cost no round trip, and unit tests' fakes). `revocations` may be null (none kept).
class SeparateReleaseReads final : public ReleaseReads {
 public:
  SeparateReleaseReads(KeyStore* keys, MachineDenyList* denylist, OfflineRevocations* revocations)
      : keys_(keys), denylist_(denylist), revocations_(revocations) {}
  absl::StatusOr<ReleaseRecords> Read(absl::string_view key_id, absl::string_view machine,
                                      uint32_t version) override;

 private:
  KeyStore* keys_;
  MachineDenyList* denylist_;
  OfflineRevocations* revocations_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_RELEASE_READS_H_
