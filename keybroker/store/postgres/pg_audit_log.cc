// The hash-chained audit log on PostgreSQL.
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// The advisory lock under which a replica extends the chain (key 0x6b6261756469, "kbaudit"),
// then the chain's head: one round trip after BEGIN.
constexpr absl::string_view kLockAndReadHead =
    "SELECT pg_advisory_xact_lock(118070286050409); "
    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";

constexpr absl::string_view kColumns =
    "id, time, actor, action, key_id, key_version, decision, reason, evidence_digest, "
    "policy_version, prev_hash, hash";

AuditRecord ReadRecord(const PgResult& r, int i) {
  AuditRecord a;
  a.id = static_cast<uint64_t>(r.Int(i, 0));
  a.time = absl::FromUnixMillis(r.Int(i, 1));
  a.actor = r.Text(i, 2);
  a.action = r.Text(i, 3);
  a.key_id = r.Text(i, 4);
  a.key_version = static_cast<uint32_t>(r.Int(i, 5));
  a.decision = r.Text(i, 6);
  a.reason = r.Text(i, 7);
  a.evidence_digest = r.Text(i, 8);
  a.policy_version = static_cast<uint64_t>(r.Int(i, 9));
  a.prev_hash = r.Text(i, 10);
  a.hash = r.Text(i, 11);
  return a;
}

// Why record `r` does not link to the record before it (id `prev_id`).
absl::StatusOr<std::string> LinkProblem(PgConnection& conn, const AuditRecord& r,
                                        uint64_t prev_id) {
  if (r.id != prev_id + 1) {
    return prev_id + 1 == r.id - 1
               ? absl::StrCat("record ", prev_id + 1, " before it was removed")
               : absl::StrCat("records ", prev_id + 1, " to ", r.id - 1, " before it were removed");
  }
  ASSIGN_OR_RETURN(PgResult linked, conn.Exec("SELECT id FROM audit WHERE hash = $1 LIMIT 1",
                                              {PgParam::Text(r.prev_hash)}));
  if (linked.rows() == 1 && static_cast<uint64_t>(linked.Int(0, 0)) != prev_id) {
    return absl::StrCat("records were reordered: its prev_hash is the hash of record ",
                        linked.Int(0, 0), ", not of record ", prev_id);
  }
  if (prev_id == 0) return std::string("prev_hash of the first record is not the genesis hash");
  return absl::StrCat("prev_hash does not match record ", prev_id,
                      " (that record was rewritten, or records between them were removed)");
}

const std::string& InsertRecord() {
  static const std::string* const kInsert =
      new std::string(absl::StrCat("INSERT INTO audit(", kColumns,
                                   ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"));
  return *kInsert;
}

// Records are read in pages while verifying, so a long log is never held in memory at once.
constexpr int64_t kVerifyPage = 5000;

}  // namespace

absl::Status PgAuditLog::Append(const AuditRecord& record) {
  AuditRecord mine = SanitizedForAudit(record);
  return commits_.Submit(
      mine, [this](const std::vector<AuditRecord*>& batch) { return WriteBatch(batch); });
}

absl::Status PgAuditLog::WriteBatch(const std::vector<AuditRecord*>& batch) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  // Other replicas append between their own lock and commit only: the head read here (after
  // the lock, in a snapshot of its own) stays the head until this transaction commits.
  PgTransaction tx(*conn, kLockAndReadHead);
  RETURN_IF_ERROR(tx.status());
  PgResult& head = tx.first();
  int64_t id = head.rows() == 0 ? 0 : head.Int(0, 0);
  std::string prev = head.rows() == 0 ? std::string(kAuditGenesisHash) : head.Text(0, 1);
  std::vector<std::vector<PgParam>> rows;
  rows.reserve(batch.size());
  for (AuditRecord* record : batch) {
    AuditRecord& r = *record;
    r.id = static_cast<uint64_t>(++id);
    r.prev_hash = std::move(prev);
    r.hash = AuditRecordHash(r);
    prev = r.hash;
    rows.push_back({PgParam::Int(id), PgParam::Int(absl::ToUnixMillis(r.time)),
                    PgParam::Text(r.actor), PgParam::Text(r.action), PgParam::Text(r.key_id),
                    PgParam::Int(r.key_version), PgParam::Text(r.decision), PgParam::Text(r.reason),
                    PgParam::Text(r.evidence_digest),
                    PgParam::Int(static_cast<int64_t>(r.policy_version)),
                    PgParam::Text(r.prev_hash), PgParam::Text(r.hash)});
  }
  // The inserts and the commit in one round trip.
  return tx.CommitAfter(InsertRecord(), rows);
}

absl::StatusOr<std::vector<AuditRecord>> PgAuditLog::List(const AuditQuery& q) {
  // Unset filters are passed as NULL-like sentinels so one statement text serves every query.
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Exec(absl::StrCat("SELECT ", kColumns,
                              " FROM audit WHERE ($1::TEXT = '' OR key_id = $1) AND ($2::TEXT = "
                              "'' OR actor = $2) AND ($3::TEXT = '' OR decision = $3) AND time "
                              ">= $4 AND id < $6 ORDER BY id DESC LIMIT $5"),
                 {PgParam::Text(q.key_id), PgParam::Text(q.actor), PgParam::Text(q.decision),
                  PgParam::Int(q.since ? absl::ToUnixMillis(*q.since)
                                       : std::numeric_limits<int64_t>::min()),
                  PgParam::Int(q.limit),
                  PgParam::Int(q.before_id != 0 ? static_cast<int64_t>(q.before_id)
                                                : std::numeric_limits<int64_t>::max())}));
  std::vector<AuditRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadRecord(r, i));
  return out;
}

absl::StatusOr<AuditChainReport> PgAuditLog::Verify() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  AuditChainReport report;
  std::string expected_prev(kAuditGenesisHash);
  uint64_t prev_id = 0;
  while (report.ok) {
    ASSIGN_OR_RETURN(
        PgResult page,
        conn->Exec(
            absl::StrCat("SELECT ", kColumns, " FROM audit WHERE id > $1 ORDER BY id LIMIT $2"),
            {PgParam::Int(static_cast<int64_t>(prev_id)), PgParam::Int(kVerifyPage)}));
    if (page.rows() == 0) break;
    for (int i = 0; i < page.rows(); ++i) {
      const AuditRecord r = ReadRecord(page, i);
      ++report.records;
      if (r.prev_hash != expected_prev) {
        ASSIGN_OR_RETURN(report.problem, LinkProblem(*conn, r, prev_id));
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
  }
  ASSIGN_OR_RETURN(PgResult head, conn->Exec("SELECT hash FROM audit ORDER BY id DESC LIMIT 1"));
  if (head.rows() > 0) report.head_hash = head.Text(0, 0);
  return report;
}

absl::StatusOr<std::vector<MachineRelease>> PgAuditLog::LatestReleases(absl::string_view key_id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT DISTINCT ON (actor) substr(actor, 9), "
                                          "key_version, time FROM audit WHERE key_id = $1 AND "
                                          "action = 'release' AND decision = 'allow' AND actor "
                                          "LIKE 'machine:%' ORDER BY actor, id DESC",
                                          {PgParam::Text(key_id)}));
  std::vector<MachineRelease> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(
        {r.Text(i, 0), static_cast<uint32_t>(r.Int(i, 1)), absl::FromUnixMillis(r.Int(i, 2))});
  }
  return out;
}

}  // namespace kb
