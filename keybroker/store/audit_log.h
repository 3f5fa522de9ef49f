#ifndef KB_KEYBROKER_STORE_AUDIT_LOG_H_
#define KB_KEYBROKER_STORE_AUDIT_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kb {

// One decision or admin action. Never holds secret material.
struct AuditRecord {
  uint64_t id = 0;  // assigned by the log
  absl::Time time;
  std::string actor;
  std::string action;
  std::string key_id;
  uint32_t key_version = 0;
  std::string decision;  // "allow" / "deny"
  std::string reason;
};

// Append-only audit trail. Thread-safe.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  virtual absl::Status Append(const AuditRecord& record) = 0;
  // Newest first, at most `limit`.
  virtual absl::StatusOr<std::vector<AuditRecord>> List(int limit) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_AUDIT_LOG_H_
