// CopySqliteToPostgres: a SQLite broker database into an empty PostgreSQL one, table by table.
#include "keybroker/store/postgres/pg_import.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

// The SQLite schema version whose tables are copied (sqlite_schema.cc).
constexpr int64_t kSqliteSchema = 7;

// One copied table: its columns and their kinds, T(ext), I(nteger), B(lob: bytea),
// Z (integer 0/1 in SQLite, boolean in PostgreSQL). In an order that satisfies the foreign keys.
struct Table {
  const char* name;
  std::vector<std::pair<const char*, char>> columns;
};

const std::vector<Table>& Tables() {
  static const auto* tables = new std::vector<Table>{
      {"keks", {{"id", 'I'}, {"sealed", 'B'}, {"description", 'T'}, {"fingerprint", 'T'}}},
      {"keys",
       {{"key_id", 'T'},
        {"size_bytes", 'I'},
        {"latest_version", 'I'},
        {"disabled", 'Z'},
        {"description", 'T'},
        {"created_at", 'I'},
        {"policy_version", 'I'}}},
      {"key_versions",
       {{"key_id", 'T'},
        {"version", 'I'},
        {"sealed", 'B'},
        {"created_at", 'I'},
        {"retired", 'Z'},
        {"kek_id", 'I'}}},
      {"policies", {{"key_id", 'T'}, {"version", 'I'}, {"policy_json", 'T'}, {"created_at", 'I'}}},
      {"attestation_keys",
       {{"ak_name", 'B'}, {"machine", 'T'}, {"ak_public", 'B'}, {"registered_at", 'I'}}},
      {"audit",
       {{"id", 'I'},
        {"time", 'I'},
        {"actor", 'T'},
        {"action", 'T'},
        {"key_id", 'T'},
        {"key_version", 'I'},
        {"decision", 'T'},
        {"reason", 'T'},
        {"evidence_digest", 'T'},
        {"policy_version", 'I'},
        {"prev_hash", 'T'},
        {"hash", 'T'}}},
      {"forgotten_machines", {{"machine", 'T'}, {"forgotten_by", 'T'}, {"forgotten_at", 'I'}}},
      {"denied_machines",
       {{"machine", 'T'}, {"reason", 'T'}, {"denied_by", 'T'}, {"denied_at", 'I'}}},
      {"offline_revocations",
       {{"key_id", 'T'},
        {"machine", 'T'},
        {"reason", 'T'},
        {"revoked_by", 'T'},
        {"revoked_at", 'I'}}},
      {"enrolment_confirmations",
       {{"key_id", 'T'}, {"machine", 'T'}, {"version", 'I'}, {"confirmed_at", 'I'}}},
      {"offline_grants",
       {{"key_id", 'T'},
        {"machine", 'T'},
        {"key_version", 'I'},
        {"offline_boots", 'I'},
        {"granted_at", 'I'}}},
      {"collateral",
       {{"id", 'T'},
        {"kind", 'T'},
        {"slot", 'T'},
        {"lookup_key", 'T'},
        {"identity", 'T'},
        {"name", 'T'},
        {"not_before", 'I'},
        {"not_after", 'I'},
        {"imported_at", 'I'},
        {"content", 'B'}}},
  };
  return *tables;
}

PgParam ParamOf(const SqliteStatement& st, int col, char kind) {
  switch (kind) {
    case 'I':
      return PgParam::Int(st.Int(col));
    case 'Z':
      return PgParam::Text(st.Int(col) != 0 ? "t" : "f");
    case 'B':
      return PgParam::Bytes(st.Text(col));
    default:
      return PgParam::Text(st.Text(col));
  }
}

// Copies `table`; returns the rows copied. Caller holds the SQLite lock and a read snapshot.
absl::StatusOr<int64_t> CopyTable(SqliteDb& from, PgConnection& to, const Table& table) {
  std::vector<std::string> names, placeholders;
  for (const auto& [name, kind] : table.columns) {
    names.push_back(name);
    placeholders.push_back(absl::StrCat("$", placeholders.size() + 1));
  }
  const std::string cols = absl::StrJoin(names, ", ");
  ASSIGN_OR_RETURN(auto select, from.Prepare(absl::StrCat("SELECT ", cols, " FROM ", table.name)));
  const std::string insert = absl::StrCat("INSERT INTO ", table.name, "(", cols, ") VALUES(",
                                          absl::StrJoin(placeholders, ", "), ")");
  int64_t rows = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return rows;
    std::vector<PgParam> params;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      params.push_back(ParamOf(select, static_cast<int>(i), table.columns[i].second));
    }
    RETURN_IF_ERROR(to.Exec(insert, params).status());
    ++rows;
  }
}

absl::Status CheckSource(SqliteDb& db, const std::string& path) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  const int64_t version = row ? st.Int(0) : 0;
  if (version != kSqliteSchema) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", path, " has schema version ", version, ", not ", kSqliteSchema,
        ": start this keybrokerd on it once (it migrates the database), then copy it"));
  }
  return absl::OkStatus();
}

absl::Status CheckEmptyTarget(PgConnection& to, const std::string& target) {
  std::vector<std::string> counts;
  for (const Table& t : Tables())
    counts.push_back(absl::StrCat("(SELECT COUNT(*) FROM ", t.name, ")"));
  ASSIGN_OR_RETURN(PgResult r, to.Exec(absl::StrCat("SELECT ", absl::StrJoin(counts, " + "))));
  if (r.Int(0, 0) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(target, " already holds keybroker data (", r.Int(0, 0),
                     " rows): migrate-store copies only into an empty database"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StoreCopyReport> CopySqliteToPostgres(const std::string& sqlite_path,
                                                     PgPool::Options to) {
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteDb> from, SqliteDb::OpenReadOnly(sqlite_path));
  {
    auto lock = from->Lock();
    RETURN_IF_ERROR(CheckSource(*from, sqlite_path));
  }
  ASSIGN_OR_RETURN(const AuditChainReport before, SqliteAuditLog(from).Verify());
  if (!before.ok) {
    return absl::FailedPreconditionError(absl::StrCat("the audit chain of ", sqlite_path,
                                                      " is broken at record ", before.first_bad_id,
                                                      " (", before.problem, "): not copied"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<PgPool> pool, PgPool::Create(std::move(to)));
  RETURN_IF_ERROR(MigratePostgresSchema(*pool));
  StoreCopyReport report;
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool->Acquire());
    PgTransaction tx(*conn);
    RETURN_IF_ERROR(tx.status());
    RETURN_IF_ERROR(CheckEmptyTarget(*conn, pool->description()));
    auto lock = from->Lock();
    RETURN_IF_ERROR(from->Exec("BEGIN"));  // one read snapshot of a database that may be in use
    for (const Table& t : Tables()) {
      absl::StatusOr<int64_t> rows = CopyTable(*from, *conn, t);
      if (!rows.ok()) {
        from->Exec("ROLLBACK").IgnoreError();
        return absl::Status(rows.status().code(),
                            absl::StrCat("copying ", t.name, ": ", rows.status().message()));
      }
      report.rows.emplace_back(t.name, *rows);
    }
    from->Exec("COMMIT").IgnoreError();
    RETURN_IF_ERROR(tx.Commit());
  }
  ASSIGN_OR_RETURN(report.audit, PgAuditLog(pool).Verify());
  if (!report.audit.ok || report.audit.records < before.records ||
      (before.records > 0 && report.audit.records == before.records &&
       report.audit.head_hash != before.head_hash)) {
    return absl::DataLossError(
        absl::StrCat("the copied audit chain does not verify: ", report.audit.problem, " (",
                     report.audit.records, " records, ", before.records, " before)"));
  }
  return report;
}

}  // namespace kb
