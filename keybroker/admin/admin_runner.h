#ifndef KB_KEYBROKER_ADMIN_ADMIN_RUNNER_H_
#define KB_KEYBROKER_ADMIN_ADMIN_RUNNER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "keybroker/service/roles.h"
#include "keybroker/store/audit_log.h"

namespace kb {

// One admin call: what it is, who makes it, what it needs.
struct AdminCall {
  absl::string_view action;  // audit action, e.g. "create_key"
  const AdminCaller& caller;
  Permission needs;
  absl::string_view key_id;
  bool audit_success = true;  // false for pure reads: only denials are recorded
};

// What a successful call adds to its audit record.
struct AdminOutcome {
  std::string detail;
  uint32_t key_version = 0;
};

// The step every admin call of every resource service goes through: the caller's role is
// checked (PERMISSION_DENIED names the role needed), the body runs, and the result is audited
// (every call that changes state, and every denial). A call whose audit record cannot be
// written fails with UNAVAILABLE. Dependencies are not owned. Thread-safe.
class AdminRunner {
 public:
  AdminRunner(const RoleMap* roles, AuditLog* audit, const Clock* clock)
      : roles_(roles), audit_(audit), clock_(clock) {}

  // Checks the role, runs `body(AdminOutcome&)` and audits the result; returns the result, or
  // UNAVAILABLE if the audit log cannot record it.
  template <typename T, typename F>
  absl::StatusOr<T> Run(const AdminCall& call, F&& body);

  const Clock& clock() const { return *clock_; }

 private:
  absl::Status Record(const AdminCall& call, const AdminOutcome& outcome,
                      const absl::Status& result);

  const RoleMap* roles_;
  AuditLog* audit_;
  const Clock* clock_;
};

template <typename T, typename F>
absl::StatusOr<T> AdminRunner::Run(const AdminCall& call, F&& body) {
  AdminOutcome outcome;
  absl::StatusOr<T> result = [&]() -> absl::StatusOr<T> {
    RETURN_IF_ERROR(roles_->Check(call.caller, call.needs, call.action));
    return body(outcome);
  }();
  if (result.ok() && !call.audit_success) return result;
  RETURN_IF_ERROR(Record(call, outcome, result.status()));
  return result;
}

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_ADMIN_RUNNER_H_
