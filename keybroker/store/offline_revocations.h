#ifndef KB_KEYBROKER_STORE_OFFLINE_REVOCATIONS_H_
#define KB_KEYBROKER_STORE_OFFLINE_REVOCATIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// An operator's revocation of a key's offline grace: releases of `key_id` to `machine` (empty:
// every machine) grant no offline boots.
struct OfflineRevocationRecord {
  std::string key_id;
  std::string machine;  // empty: every machine
  std::string reason;   // operator's note
  std::string revoked_by;
  absl::Time revoked_at;
};

// Offline-grace revocations per key and machine. Thread-safe. UNAVAILABLE when the store is
// down.
class OfflineRevocations {
 public:
  virtual ~OfflineRevocations() = default;
  // Records a revocation, replacing an earlier one for the same key and machine.
  virtual absl::Status Revoke(const OfflineRevocationRecord& record) = 0;
  // Lifts the revocation for exactly (`key_id`, `machine`); returns whether there was one.
  virtual absl::StatusOr<bool> Restore(absl::string_view key_id, absl::string_view machine) = 0;
  // The revocation that applies to a release of `key_id` to `machine`: the machine's own, else
  // the key's all-machines one; nullopt when neither exists.
  virtual absl::StatusOr<std::optional<OfflineRevocationRecord>> Find(
      absl::string_view key_id, absl::string_view machine) = 0;
  // The revocations of `key_id` (empty: every key), by key id then machine.
  virtual absl::StatusOr<std::vector<OfflineRevocationRecord>> List(absl::string_view key_id) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_OFFLINE_REVOCATIONS_H_
