#include "keybroker/admin/admin_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kb {

absl::Status AdminRunner::Record(const AdminCall& call, const AdminOutcome& outcome,
                                 const absl::Status& result) {
  AuditRecord record;
  record.time = clock_->Now();
  record.actor = call.caller.subject;
  record.action = std::string(call.action);
  record.key_id = std::string(call.key_id.substr(0, 128));
  record.key_version = outcome.key_version;
  record.decision = result.ok() ? "allow" : "deny";
  record.reason = result.ok() ? outcome.detail : std::string(result.message());
  if (absl::Status s = audit_->Append(record); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("audit log unavailable: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status AdminRunner::WithUnrecordedAudit(const absl::Status& failed, const absl::Status& why) {
  return absl::Status(failed.code(),
                      absl::StrCat(failed.message(), " (not audited: ", why.message(), ")"));
}

absl::Time AdminRunner::WorkDeadline() {
  const absl::Time deadline = RequestDeadline::Current();
  if (deadline == absl::InfiniteFuture()) return deadline;
  const absl::Time now = absl::Now();
  return now + std::max(deadline - now, absl::ZeroDuration()) * 3 / 4;
}

void AdminRunner::Report(const AdminCall& call, const absl::Status& result) const {
  if (observer_ == nullptr) return;
  const absl::string_view outcome =
      result.ok() ? "ok" : (absl::IsPermissionDenied(result) ? "denied" : "failed");
  observer_->Observe(call.action, RoleNames(roles_->RolesOf(call.caller)), outcome);
}

}  // namespace kb
