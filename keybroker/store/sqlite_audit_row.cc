#include "keybroker/store/sqlite_audit_row.h"

namespace kb {

AuditRecord ReadAuditRow(const SqliteStatement& st) {
  AuditRecord r;
  r.id = static_cast<uint64_t>(st.Int(0));
  r.time = absl::FromUnixMillis(st.Int(1));
  r.actor = st.Text(2);
  r.action = st.Text(3);
  r.key_id = st.Text(4);
  r.key_version = static_cast<uint32_t>(st.Int(5));
  r.decision = st.Text(6);
  r.reason = st.Text(7);
  r.evidence_digest = st.Text(8);
  r.policy_version = static_cast<uint64_t>(st.Int(9));
  r.prev_hash = st.Text(10);
  r.hash = st.Text(11);
  return r;
}

}  // namespace kb
