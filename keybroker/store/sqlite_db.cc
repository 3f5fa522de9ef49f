#include "keybroker/store/sqlite_db.h"

#include "absl/strings/str_cat.h"

namespace kb {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

SqliteStatement& SqliteStatement::Bind(int i, int64_t v) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int i, absl::string_view text) {
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ =
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  return *this;
}
SqliteStatement& SqliteStatement::BindBlob(int i, absl::string_view blob) {
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ =
        sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteError(db_, bind_rc_, "bind");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

absl::Status SqliteStatement::Run() {
  while (true) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

std::string SqliteStatement::Text(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

absl::StatusOr<std::shared_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                         absl::string_view schema) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::shared_ptr<SqliteDb> db(new SqliteDb(raw));
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot open database ", path, ": ", sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 5000);
  auto lock = db->Lock();
  for (absl::string_view pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto s = db->Exec(pragma); !s.ok()) return s;
  }
  if (auto s = db->Exec(schema); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("database ", path, ": ", s.message()));
  }
  return db;
}

absl::StatusOr<std::shared_ptr<SqliteDb>> SqliteDb::OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::shared_ptr<SqliteDb> db(new SqliteDb(raw));
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot open database ", path, " read-only: ", sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(absl::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return SqliteStatement(db_, it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  statements_.emplace(std::string(sql), stmt);
  return SqliteStatement(db_, stmt);
}

absl::Status SqliteDb::Exec(absl::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "exec");
  return absl::OkStatus();
}

namespace {

absl::Status RunCached(SqliteDb& db, absl::string_view sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  return st->Run();
}

}  // namespace

SqliteUnsyncedWrites::SqliteUnsyncedWrites(SqliteDb& db)
    : db_(db), status_(RunCached(db, "PRAGMA synchronous=OFF")) {}

SqliteUnsyncedWrites::~SqliteUnsyncedWrites() {
  RunCached(db_, "PRAGMA synchronous=FULL").IgnoreError();
}

SqliteReadTransaction::SqliteReadTransaction(SqliteDb& db)
    : db_(db), begin_(RunCached(db, "BEGIN")) {}

SqliteReadTransaction::~SqliteReadTransaction() {
  // A read transaction has nothing to commit; should COMMIT fail, ROLLBACK still ends it, so
  // that the connection's next transaction can begin.
  if (begin_.ok() && !RunCached(db_, "COMMIT").ok()) db_.Exec("ROLLBACK").IgnoreError();
}

SqliteTransaction::SqliteTransaction(SqliteDb& db)
    : db_(db), begin_(RunCached(db, "BEGIN IMMEDIATE")) {}

SqliteTransaction::~SqliteTransaction() {
  if (begin_.ok() && !done_) db_.Exec("ROLLBACK").IgnoreError();
}

absl::Status SqliteTransaction::Commit() {
  if (!begin_.ok()) return begin_;
  done_ = true;
  return RunCached(db_, "COMMIT");
}

}  // namespace kb
