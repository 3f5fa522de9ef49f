// AuditAdmin: reading and verifying the audit trail.
#include "keybroker/admin/audit_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/admin/admin_protos.h"

namespace kb {

namespace {

absl::StatusOr<AuditQuery> ToQuery(const v1::ListAuditEventsRequest& r) {
  AuditQuery q;
  q.limit = r.limit() == 0 ? 100 : static_cast<int>(std::min<uint32_t>(r.limit(), 10000));
  q.key_id = r.key_id();
  q.actor = r.actor();
  if (!r.decision().empty() && r.decision() != "allow" && r.decision() != "deny") {
    return absl::InvalidArgumentError("decision must be \"allow\" or \"deny\"");
  }
  q.decision = r.decision();
  if (r.has_since()) q.since = FromTimestamp(r.since());
  q.before_id = r.before_id();
  return q;
}

}  // namespace

absl::StatusOr<v1::ListAuditEventsResponse> AuditAdmin::ListAuditEvents(
    const v1::ListAuditEventsRequest& r, Caller caller) {
  AdminCall call{"list_audit", caller, Permission::kReadAudit, r.key_id()};
  call.audit_success = false;
  return d_.run->Run<v1::ListAuditEventsResponse>(
      call, [&](AdminOutcome&) -> absl::StatusOr<v1::ListAuditEventsResponse> {
        ASSIGN_OR_RETURN(AuditQuery query, ToQuery(r));
        ASSIGN_OR_RETURN(std::vector<AuditRecord> records, d_.audit->List(query));
        v1::ListAuditEventsResponse out;
        for (const AuditRecord& a : records) *out.add_events() = ToProto(a);
        if (static_cast<int>(records.size()) == query.limit && records.back().id > 1) {
          out.set_next_before_id(records.back().id);
        }
        return out;
      });
}

absl::StatusOr<v1::VerifyAuditChainResponse> AuditAdmin::VerifyAuditChain(
    const v1::VerifyAuditChainRequest&, Caller caller) {
  return d_.run->Run<v1::VerifyAuditChainResponse>(
      {"verify_audit", caller, Permission::kReadAudit, ""},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::VerifyAuditChainResponse> {
        ASSIGN_OR_RETURN(AuditChainReport report, d_.audit->Verify());
        o.detail = report.ok ? absl::StrCat("chain ok, ", report.records, " records")
                             : absl::StrCat("chain broken at record ", report.first_bad_id);
        v1::VerifyAuditChainResponse out;
        out.set_ok(report.ok);
        out.set_records(report.records);
        out.set_first_bad_id(report.first_bad_id);
        out.set_problem(report.problem);
        out.set_head_hash(report.head_hash);
        return out;
      });
}

}  // namespace kb
