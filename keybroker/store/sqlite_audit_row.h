#ifndef KB_KEYBROKER_STORE_SQLITE_AUDIT_ROW_H_
#define KB_KEYBROKER_STORE_SQLITE_AUDIT_ROW_H_

#include "absl/strings/string_view.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/sqlite_db.h"

namespace kb {

// The audit table's columns in the order ReadAuditRow() reads them: "SELECT " kAuditColumns.
// Shared by the audit log and the schema migration that sealed pre-chain records.
inline constexpr absl::string_view kAuditColumns =
    "id, time, actor, action, key_id, key_version, decision, reason, evidence_digest, "
    "policy_version, prev_hash, hash";

// The AuditRecord of the current row of a statement that selected kAuditColumns.
AuditRecord ReadAuditRow(const SqliteStatement& st);

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_AUDIT_ROW_H_
