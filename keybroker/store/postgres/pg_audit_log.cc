// The hash-chained audit log on PostgreSQL.
#include <array>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

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

// The records of one batch as the arrays kb_audit_append takes, one per column, each a
// PostgreSQL array literal of quoted elements (a double quote or backslash in one escaped).
class AppendArrays {
 public:
  void Add(const AuditRecord& r) {
    Element(0, absl::StrCat(absl::ToUnixMillis(r.time)));
    Element(1, r.actor);
    Element(2, r.action);
    Element(3, r.key_id);
    Element(4, absl::StrCat(r.key_version));
    Element(5, r.decision);
    Element(6, r.reason);
    Element(7, r.evidence_digest);
    Element(8, absl::StrCat(r.policy_version));
    Element(9, absl::StrCat("\\x", HexEncode(AuditRecordHashPrefix(r))));
  }
  std::vector<PgParam> Params() const {
    std::vector<PgParam> params;
    for (const std::string& a : arrays_) params.push_back(PgParam::Text(absl::StrCat(a, "}")));
    params.push_back(PgParam::Text(kAuditGenesisHash));
    return params;
  }

 private:
  void Element(int column, absl::string_view value) {
    std::string& out = arrays_[column];
    out.append(out.empty() ? "{\"" : ",\"");
    for (char c : value) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }

  std::array<std::string, 10> arrays_;
};

constexpr absl::string_view kAppend =
    "SELECT record_id, record_prev, record_hash FROM kb_audit_append($1::BIGINT[], "
    "$2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], "
    "$9::BIGINT[], $10::BYTEA[], $11)";

// Records are read in pages while verifying, so a long log is never held in memory at once.
constexpr int64_t kVerifyPage = 5000;

}  // namespace

absl::Status PgAuditLog::Append(const AuditRecord& record) {
  return commits_.Submit(SanitizedForAudit(record), [this](const std::vector<AuditRecord*>& batch) {
    return WriteBatch(batch);
  });
}

absl::Status PgAuditLog::WriteBatch(const std::vector<AuditRecord*>& batch) {
  AppendArrays arrays;
  for (const AuditRecord* r : batch) arrays.Add(*r);
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  // One statement on an idle connection: its own transaction, committed (and flushed) before
  // the result comes back.
  ASSIGN_OR_RETURN(PgResult linked, conn->Exec(kAppend, arrays.Params()));
  if (linked.rows() != static_cast<int>(batch.size())) {
    return absl::InternalError(
        absl::StrCat("kb_audit_append linked ", linked.rows(), " audit records of ", batch.size()));
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    AuditRecord& r = *batch[i];
    r.id = static_cast<uint64_t>(linked.Int(i, 0));
    r.prev_hash = linked.Text(i, 1);
    r.hash = linked.Text(i, 2);
    // What `audit verify` will recompute; a mismatch means the stored function is not ours.
    if (AuditRecordHash(r) != r.hash) {
      return absl::InternalError(absl::StrCat("kb_audit_append stored audit record ", r.id,
                                              " with a hash that does not match its fields"));
    }
  }
  return absl::OkStatus();
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
  // The pages below start after 0, so a row numbered below 1 (which List and LatestReleases
  // would show) is looked for first: kb_audit_append numbers records from 1, so something
  // else inserted it, outside the chain.
  ASSIGN_OR_RETURN(PgResult outside,
                   conn->Exec("SELECT id FROM audit WHERE id < 1 ORDER BY id LIMIT 1"));
  if (outside.rows() > 0) {
    report.ok = false;
    report.problem = absl::StrCat("a record numbered ", outside.Int(0, 0),
                                  " is outside the chain (records are numbered from 1): it was "
                                  "inserted by something other than keybrokerd");
  }
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
