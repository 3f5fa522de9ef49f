#ifndef KB_KEYBROKER_STORE_SQLITE_DB_H_
#define KB_KEYBROKER_STORE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// One use of a cached prepared statement; reset and unbound on destruction (the statement
// itself stays in SqliteDb's cache). Bind indices start at 1, columns at 0.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  ~SqliteStatement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  SqliteStatement& Bind(int i, int64_t v);
  SqliteStatement& Bind(int i, absl::string_view text);  // TEXT
  SqliteStatement& BindBlob(int i, absl::string_view blob);
  // Steps once: true if a row is available, false when done; UNAVAILABLE/INTERNAL on error
  // (ALREADY_EXISTS on a uniqueness violation).
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows.
  absl::Status Run();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// A SQLite connection in WAL mode with synchronous=FULL. All access goes through Lock(), so one
// connection serves every thread. Thread-safe.
class SqliteDb {
 public:
  // Opens (creating if needed) the database at `path` and applies `schema`. UNAVAILABLE if the
  // file cannot be opened.
  static absl::StatusOr<std::shared_ptr<SqliteDb>> Open(const std::string& path,
                                                        absl::string_view schema);
  // Opens the existing database at `path` read-only (no schema, no pragma that writes): what
  // `keybrokerd --check-config` reads. UNAVAILABLE if it cannot be opened.
  static absl::StatusOr<std::shared_ptr<SqliteDb>> OpenReadOnly(const std::string& path);
  ~SqliteDb();

  std::unique_lock<std::mutex> Lock() { return std::unique_lock<std::mutex>(mu_); }
  // Caller holds Lock(). Statements are prepared once per SQL text and reused.
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);
  absl::Status Exec(absl::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::mutex mu_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;  // guarded by mu_
};

// Maps a SQLite result code to a Status (`what` names the operation).
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

// RAII: caller holds Lock(). While it lives, commits on the connection are not fsynced (PRAGMA
// synchronous=OFF); the next synchronous commit's fsync of the WAL makes them durable too,
// because WAL frames are appended in order. Used for a machine's key state, which the release's
// synchronous audit record then makes durable before the key is returned.
class SqliteUnsyncedWrites {
 public:
  explicit SqliteUnsyncedWrites(SqliteDb& db);
  ~SqliteUnsyncedWrites();
  absl::Status status() const { return status_; }

 private:
  SqliteDb& db_;
  absl::Status status_;
};

// RAII read transaction: BEGIN (deferred) on construction, ended on destruction. Caller holds
// Lock(). The statements run while it lives read one snapshot of the database, and in WAL mode
// take the file's and the WAL's read locks once for all of them instead of once each.
class SqliteReadTransaction {
 public:
  explicit SqliteReadTransaction(SqliteDb& db);
  ~SqliteReadTransaction();
  absl::Status status() const { return begin_; }

 private:
  SqliteDb& db_;
  absl::Status begin_;
};

// RAII write transaction: BEGIN IMMEDIATE on construction, ROLLBACK unless Commit() was called.
// Caller holds Lock().
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  absl::Status status() const { return begin_; }
  absl::Status Commit();

 private:
  SqliteDb& db_;
  absl::Status begin_;
  bool done_ = false;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_DB_H_
