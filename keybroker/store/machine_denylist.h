#ifndef KB_KEYBROKER_STORE_MACHINE_DENYLIST_H_
#define KB_KEYBROKER_STORE_MACHINE_DENYLIST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// A machine an operator revoked: it is refused every key.
struct DeniedMachineRecord {
  std::string machine;
  std::string reason;  // operator's note
  std::string denied_by;
  absl::Time denied_at;
};

// Machines denied across all keys. Thread-safe. UNAVAILABLE when the store is down.
class MachineDenyList {
 public:
  virtual ~MachineDenyList() = default;
  // Denies `record.machine`, replacing an earlier entry for it.
  virtual absl::Status Deny(const DeniedMachineRecord& record) = 0;
  // Lifts a denial; returns whether the machine was denied.
  virtual absl::StatusOr<bool> Allow(absl::string_view machine) = 0;
  // The entry for `machine`, or nullopt when it is not denied.
  virtual absl::StatusOr<std::optional<DeniedMachineRecord>> Find(absl::string_view machine) = 0;
  // Every denied machine, by name.
  virtual absl::StatusOr<std::vector<DeniedMachineRecord>> List() = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_MACHINE_DENYLIST_H_
