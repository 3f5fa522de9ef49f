#ifndef KB_KEYBROKER_ADMIN_ADMIN_RUNNER_H_
#define KB_KEYBROKER_ADMIN_ADMIN_RUNNER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/request_deadline.h"
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

// Told of every admin call (the metrics listener): its action, the caller's roles
// (RoleNames: "admin", "none", ...) and "ok", "denied" (PERMISSION_DENIED) or "failed".
// Every argument is a name the broker chose. Thread-safe.
class AdminObserver {
 public:
  virtual ~AdminObserver() = default;
  virtual void Observe(absl::string_view action, absl::string_view roles,
                       absl::string_view result) = 0;
};

// The step every admin call of every resource service goes through: the caller's role is
// checked (PERMISSION_DENIED names the role needed), the body runs, and the result is audited
// (every call that changes state, and every denial). A successful call whose audit record
// cannot be written fails with UNAVAILABLE; a failed one keeps its own error, with a note that
// its record was not written. Under a request deadline the work's store waits (PostgreSQL's)
// end a quarter of the time left before it, which the audit record keeps for itself.
// Dependencies are not owned. Thread-safe.
class AdminRunner {
 public:
  // `observer` may be null.
  AdminRunner(const RoleMap* roles, AuditLog* audit, const Clock* clock,
              AdminObserver* observer = nullptr)
      : roles_(roles), audit_(audit), clock_(clock), observer_(observer) {}

  // Checks the role, runs `body(AdminOutcome&)` and audits the result; returns the result, or
  // UNAVAILABLE if the audit log cannot record a success.
  template <typename T, typename F>
  absl::StatusOr<T> Run(const AdminCall& call, F&& body);

  const Clock& clock() const { return *clock_; }

 private:
  absl::Status Record(const AdminCall& call, const AdminOutcome& outcome,
                      const absl::Status& result);
  void Report(const AdminCall& call, const absl::Status& result) const;
  // Where the call's work stops, so that its audit record has time of its own: three quarters
  // of the way to the request's deadline (RequestDeadline), none without one.
  static absl::Time WorkDeadline();
  // `failed` with a note that its audit record was not written for `why`.
  static absl::Status WithUnrecordedAudit(const absl::Status& failed, const absl::Status& why);

  const RoleMap* roles_;
  AuditLog* audit_;
  const Clock* clock_;
  AdminObserver* observer_;
};

template <typename T, typename F>
absl::StatusOr<T> AdminRunner::Run(const AdminCall& call, F&& body) {
  AdminOutcome outcome;
  absl::StatusOr<T> result = [&]() -> absl::StatusOr<T> {
    RETURN_IF_ERROR(roles_->Check(call.caller, call.needs, call.action));
    const RequestDeadline::Scope work(WorkDeadline());
    return body(outcome);
  }();
  if (result.ok() && !call.audit_success) {
    Report(call, result.status());
    return result;
  }
  const absl::Status recorded = Record(call, outcome, result.status());
  Report(call, recorded.ok() || !result.ok() ? result.status() : recorded);
  if (recorded.ok()) return result;
  // A failed call's own error stays what the operator sees (the store that failed it usually
  // failed its record too); a call that did its work but could not record it fails.
  if (!result.ok()) return WithUnrecordedAudit(result.status(), recorded);
  return recorded;
}

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_ADMIN_RUNNER_H_
