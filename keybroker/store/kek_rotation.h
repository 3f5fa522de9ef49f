#ifndef KB_KEYBROKER_STORE_KEK_ROTATION_H_
#define KB_KEYBROKER_STORE_KEK_ROTATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kb {

// A KEK the store has known (its check value is stored with the keys) and what uses it.
struct KekUse {
  enum class Configured { kCurrent, kPrevious, kNo };
  int64_t id = 0;  // the store's number for it, in the order KEKs were introduced
  std::string description;
  std::string fingerprint;
  uint64_t key_versions = 0;  // key versions sealed under it
  Configured configured = Configured::kNo;
};

// What one re-sealing step did.
struct RewrapProgress {
  uint64_t rewrapped = 0;  // key versions re-sealed under the current KEK by this step
  uint64_t remaining = 0;  // key versions still sealed under another KEK
};

// Moves key versions from previous KEKs to the current one (keybrokerctl kek rotate), online:
// each step re-seals a bounded batch in one transaction, so a broker killed at any point
// restarts with every key version sealed under exactly one configured KEK. Thread-safe.
class KekRotation {
 public:
  virtual ~KekRotation() = default;
  // Every KEK the store knows, oldest first.
  virtual absl::StatusOr<std::vector<KekUse>> ListKeks() = 0;
  // Re-seals up to `max_versions` key versions under the current KEK.
  virtual absl::StatusOr<RewrapProgress> RewrapUnderCurrentKek(uint32_t max_versions) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_KEK_ROTATION_H_
