// The hash-chained audit log on SQLite.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_audit_row.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

// Caller holds the lock. The newest record's hash, or the genesis hash for an empty log.
absl::StatusOr<std::string> HeadHash(SqliteDb& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT hash FROM audit ORDER BY id DESC LIMIT 1"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Text(0) : std::string(kAuditGenesisHash);
}

// Caller holds the lock. Explains why `r.prev_hash` does not link to the record before it.
absl::StatusOr<std::string> LinkProblem(SqliteDb& db, const AuditRecord& r, uint64_t prev_id) {
  if (r.id != prev_id + 1) {
    return prev_id + 1 == r.id - 1
               ? absl::StrCat("record ", prev_id + 1, " before it was removed")
               : absl::StrCat("records ", prev_id + 1, " to ", r.id - 1, " before it were removed");
  }
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT id FROM audit WHERE hash = ? LIMIT 1"));
  st.Bind(1, r.prev_hash);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (row && static_cast<uint64_t>(st.Int(0)) != prev_id) {
    return absl::StrCat("records were reordered: its prev_hash is the hash of record ", st.Int(0),
                        ", not of record ", prev_id);
  }
  if (prev_id == 0) return std::string("prev_hash of the first record is not the genesis hash");
  return absl::StrCat("prev_hash does not match record ", prev_id,
                      " (that record was rewritten, or records between them were removed)");
}

}  // namespace

absl::Status SqliteAuditLog::Append(const AuditRecord& record) {
  return commits_.Submit(SanitizedForAudit(record), [this](const std::vector<AuditRecord*>& batch) {
    auto lock = db_->Lock();
    return WriteBatch(batch);
  });
}

absl::Status SqliteAuditLog::WriteBatch(const std::vector<AuditRecord*>& batch) {
  SqliteTransaction tx(*db_);  // BEGIN IMMEDIATE: serializes across processes
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(std::string head, HeadHash(*db_));
  for (AuditRecord* record : batch) {
    AuditRecord& r = *record;
    r.prev_hash = std::move(head);
    r.hash = AuditRecordHash(r);
    head = r.hash;
    ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO audit(time, actor, action, key_id, "
                                           "key_version, decision, reason, evidence_digest, "
                                           "policy_version, prev_hash, hash) "
                                           "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    RETURN_IF_ERROR(st.Bind(1, absl::ToUnixMillis(r.time))
                        .Bind(2, r.actor)
                        .Bind(3, r.action)
                        .Bind(4, r.key_id)
                        .Bind(5, int64_t{r.key_version})
                        .Bind(6, r.decision)
                        .Bind(7, r.reason)
                        .Bind(8, r.evidence_digest)
                        .Bind(9, static_cast<int64_t>(r.policy_version))
                        .Bind(10, r.prev_hash)
                        .Bind(11, r.hash)
                        .Run());
  }
  return tx.Commit();
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::List(const AuditQuery& q) {
  std::string sql = absl::StrCat("SELECT ", kAuditColumns, " FROM audit WHERE 1 = 1");
  // Each filter adds a fixed clause, so at most 32 statement texts are cached.
  if (!q.key_id.empty()) absl::StrAppend(&sql, " AND key_id = ?1");
  if (!q.actor.empty()) absl::StrAppend(&sql, " AND actor = ?2");
  if (!q.decision.empty()) absl::StrAppend(&sql, " AND decision = ?3");
  if (q.since.has_value()) absl::StrAppend(&sql, " AND time >= ?4");
  if (q.before_id != 0) absl::StrAppend(&sql, " AND id < ?6");
  absl::StrAppend(&sql, " ORDER BY id DESC LIMIT ?5");
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare(sql));
  if (!q.key_id.empty()) st.Bind(1, q.key_id);
  if (!q.actor.empty()) st.Bind(2, q.actor);
  if (!q.decision.empty()) st.Bind(3, q.decision);
  if (q.since.has_value()) st.Bind(4, absl::ToUnixMillis(*q.since));
  st.Bind(5, int64_t{q.limit});
  if (q.before_id != 0) st.Bind(6, static_cast<int64_t>(q.before_id));
  std::vector<AuditRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadAuditRow(st));
  }
}

absl::StatusOr<AuditChainReport> SqliteAuditLog::Verify() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st,
                   db_->Prepare(absl::StrCat("SELECT ", kAuditColumns, " FROM audit ORDER BY id")));
  AuditChainReport report;
  std::string expected_prev(kAuditGenesisHash);
  uint64_t prev_id = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const AuditRecord r = ReadAuditRow(st);
    ++report.records;
    if (r.prev_hash != expected_prev) {
      ASSIGN_OR_RETURN(report.problem, LinkProblem(*db_, r, prev_id));
    } else if (AuditRecordHash(r) != r.hash) {
      report.problem = "contents changed: the stored hash does not match the record's fields";
    }
    if (!report.problem.empty()) {
      report.ok = false;
      report.first_bad_id = r.id;
      break;
    }
    expected_prev = r.hash;
    prev_id = r.id;
  }
  ASSIGN_OR_RETURN(report.head_hash, HeadHash(*db_));
  if (report.records == 0 && report.ok) report.head_hash.clear();
  return report;
}

absl::StatusOr<std::vector<MachineRelease>> SqliteAuditLog::LatestReleases(
    absl::string_view key_id) {
  auto lock = db_->Lock();
  // SQLite takes the bare columns of an aggregate from the row holding MAX(id).
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT substr(actor, 9), key_version, time, MAX(id) "
                                         "FROM audit WHERE key_id = ? AND action = 'release' "
                                         "AND decision = 'allow' AND actor LIKE 'machine:%' "
                                         "GROUP BY actor ORDER BY actor"));
  st.Bind(1, key_id);
  std::vector<MachineRelease> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back({st.Text(0), static_cast<uint32_t>(st.Int(1)), absl::FromUnixMillis(st.Int(2))});
  }
}

}  // namespace kb
