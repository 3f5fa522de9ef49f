// The broker database schema and its migrations (PRAGMA user_version).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "keybroker/store/memory_challenge_store.h"
#include "keybroker/store/sqlite_audit_row.h"
#include "keybroker/store/sqlite_collateral_store.h"
#include "keybroker/store/sqlite_owner_lock.h"
#include "keybroker/store/sqlite_release_reads.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

// Version 0: the original schema. Never edited; later changes are migrations below.
constexpr absl::string_view kSchemaV0 = R"sql(
CREATE TABLE IF NOT EXISTS keys(
  key_id TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL, latest_version INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL, created_at INTEGER NOT NULL,
  policy_version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS key_versions(
  key_id TEXT NOT NULL REFERENCES keys(key_id), version INTEGER NOT NULL,
  sealed BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(key_id, version));
CREATE TABLE IF NOT EXISTS policies(
  key_id TEXT NOT NULL REFERENCES keys(key_id), version INTEGER NOT NULL,
  policy_json TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(key_id, version));
-- Unused: a broker on SQLite holds its challenges in memory (MemoryChallengeStore). Kept so
-- that a database stays valid for the keybrokerd versions that wrote challenges here.
CREATE TABLE IF NOT EXISTS challenges(
  id TEXT PRIMARY KEY, key_id TEXT NOT NULL, nonce BLOB NOT NULL,
  expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS challenges_expiry ON challenges(expires_at);
CREATE TABLE IF NOT EXISTS attestation_keys(
  ak_name BLOB PRIMARY KEY, machine TEXT NOT NULL, ak_public BLOB NOT NULL,
  registered_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, key_id TEXT NOT NULL, key_version INTEGER NOT NULL,
  decision TEXT NOT NULL, reason TEXT NOT NULL);
)sql";

// Version 1: hash-chained audit with evidence digest and policy version, retired key
// versions, the machine deny list.
constexpr absl::string_view kMigrationV1 = R"sql(
ALTER TABLE audit ADD COLUMN evidence_digest TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_by_key ON audit(key_id, action, decision);
ALTER TABLE key_versions ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
CREATE TABLE denied_machines(
  machine TEXT PRIMARY KEY, reason TEXT NOT NULL, denied_by TEXT NOT NULL,
  denied_at INTEGER NOT NULL);
)sql";

// Version 2: operator revocations of a key's offline grace (machine '' = every machine).
constexpr absl::string_view kMigrationV2 = R"sql(
CREATE TABLE offline_revocations(
  key_id TEXT NOT NULL, machine TEXT NOT NULL, reason TEXT NOT NULL, revoked_by TEXT NOT NULL,
  revoked_at INTEGER NOT NULL, PRIMARY KEY(key_id, machine));
PRAGMA user_version = 2;
)sql";

// Version 3: guests' attested enrolment confirmations and the offline grants of releases, the
// latest per key and machine.
constexpr absl::string_view kMigrationV3 = R"sql(
CREATE TABLE enrolment_confirmations(
  key_id TEXT NOT NULL, machine TEXT NOT NULL, version INTEGER NOT NULL,
  confirmed_at INTEGER NOT NULL, PRIMARY KEY(key_id, machine));
CREATE TABLE offline_grants(
  key_id TEXT NOT NULL, machine TEXT NOT NULL, key_version INTEGER NOT NULL,
  offline_boots INTEGER NOT NULL, granted_at INTEGER NOT NULL, PRIMARY KEY(key_id, machine));
PRAGMA user_version = 3;
)sql";

// Version 4: the operator-managed collateral cache (keybrokerctl collateral import); one entry
// per kind and slot. Times: not_before/not_after in seconds, imported_at in milliseconds.
constexpr absl::string_view kMigrationV4 = R"sql(
CREATE TABLE collateral(
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, slot TEXT NOT NULL, lookup_key TEXT NOT NULL,
  identity TEXT NOT NULL, name TEXT NOT NULL, not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL, imported_at INTEGER NOT NULL, content BLOB NOT NULL,
  UNIQUE(kind, slot));
CREATE INDEX collateral_lookup ON collateral(kind, lookup_key);
PRAGMA user_version = 4;
)sql";

// Version 5: the KEK's check value (SqliteKeyStore::CheckKek): a fixed text sealed under the
// KEK, with the KEK's description and fingerprint for the message when another KEK is
// configured.
constexpr absl::string_view kMigrationV5 = R"sql(
CREATE TABLE kek_check(
  id INTEGER PRIMARY KEY CHECK (id = 1), sealed BLOB NOT NULL, description TEXT NOT NULL,
  fingerprint TEXT NOT NULL);
PRAGMA user_version = 5;
)sql";

// Version 6: several KEKs (a KEK rotation): one check value per KEK the database has known,
// numbered in the order they were introduced, and the KEK each key version is sealed under.
constexpr absl::string_view kMigrationV6 = R"sql(
CREATE TABLE keks(
  id INTEGER PRIMARY KEY, sealed BLOB NOT NULL, description TEXT NOT NULL,
  fingerprint TEXT NOT NULL);
INSERT INTO keks(id, sealed, description, fingerprint)
  SELECT id, sealed, description, fingerprint FROM kek_check;
DROP TABLE kek_check;
ALTER TABLE key_versions ADD COLUMN kek_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX key_versions_by_kek ON key_versions(kek_id);
PRAGMA user_version = 6;
)sql";

// Version 7: machines an operator forgot (keybrokerctl machine forget); releases audited before
// forgotten_at no longer count as the machine's.
constexpr absl::string_view kMigrationV7 = R"sql(
CREATE TABLE forgotten_machines(
  machine TEXT PRIMARY KEY, forgotten_by TEXT NOT NULL, forgotten_at INTEGER NOT NULL);
PRAGMA user_version = 7;
)sql";

// The schema version this keybrokerd writes; a newer database is refused.
constexpr int64_t kSchemaVersion = 7;

// After the chain is sealed: the audit table rejects UPDATE and DELETE from any client that
// does not drop these triggers first (tampering then shows in VerifyAuditChain).
constexpr absl::string_view kAppendOnly = R"sql(
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
PRAGMA user_version = 1;
)sql";

absl::StatusOr<int64_t> UserVersion(SqliteDb& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

// Links records written before version 1 into a chain, oldest first.
absl::Status SealLegacyAudit(SqliteDb& db) {
  std::vector<AuditRecord> records;
  {
    // kMigrationV1 added every column, with defaults, before this runs.
    ASSIGN_OR_RETURN(auto st,
                     db.Prepare(absl::StrCat("SELECT ", kAuditColumns, " FROM audit ORDER BY id")));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      records.push_back(ReadAuditRow(st));
    }
  }
  std::string prev(kAuditGenesisHash);
  for (AuditRecord& r : records) {
    r.prev_hash = prev;
    r.hash = AuditRecordHash(r);
    ASSIGN_OR_RETURN(auto up, db.Prepare("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?"));
    RETURN_IF_ERROR(up.Bind(1, r.prev_hash).Bind(2, r.hash).Bind(3, int64_t(r.id)).Run());
    prev = r.hash;
  }
  return absl::OkStatus();
}

absl::Status Migrate(SqliteDb& db) {
  auto lock = db.Lock();
  SqliteTransaction tx(db);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(int64_t version, UserVersion(db));
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema version ", version, " is newer than this keybrokerd knows (",
                     kSchemaVersion, "): run the keybrokerd that wrote it, or a newer one"));
  }
  if (version < 1) {
    RETURN_IF_ERROR(db.Exec(kMigrationV1));
    RETURN_IF_ERROR(SealLegacyAudit(db));
    RETURN_IF_ERROR(db.Exec(kAppendOnly));
  }
  if (version < 2) RETURN_IF_ERROR(db.Exec(kMigrationV2));
  if (version < 3) RETURN_IF_ERROR(db.Exec(kMigrationV3));
  if (version < 4) RETURN_IF_ERROR(db.Exec(kMigrationV4));
  if (version < 5) RETURN_IF_ERROR(db.Exec(kMigrationV5));
  if (version < 6) RETURN_IF_ERROR(db.Exec(kMigrationV6));
  if (version < 7) RETURN_IF_ERROR(db.Exec(kMigrationV7));
  return tx.Commit();
}

}  // namespace

namespace {

// The database's directory must not be writable by others: they could replace the database or
// its WAL.
absl::Status CheckStateDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return absl::OkStatus();  // SqliteDb::Open says why
  if ((st.st_mode & S_IWOTH) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database directory ", dir, " is writable by others (mode ",
        absl::StrFormat("%03o", st.st_mode & 0777),
        "): they could replace the database; run: chmod o-w ", dir, " (or use a private one)"));
  }
  return absl::OkStatus();
}

// Database files that group or others can read (an older keybrokerd's) become 0600.
absl::Status MakeStateFilesPrivate(const std::string& path) {
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st;
    if (stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      if (chmod(file.c_str(), 0600) != 0) {
        return absl::PermissionDeniedError(
            absl::StrCat("cannot make ", file, " private (chmod 600): ", strerror(errno)));
      }
      LogInfo("%s was readable by group or others: now 0600", file);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> CheckBrokerDatabase(const std::string& path, KekSet keks) {
  RETURN_IF_ERROR(CheckStateDirectory(path));
  if (access(path.c_str(), F_OK) != 0) {
    return absl::StrCat("database ", path, " does not exist yet: keybrokerd creates it");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteDb> db, SqliteDb::OpenReadOnly(path));
  int64_t version = 0;
  {
    auto lock = db->Lock();
    ASSIGN_OR_RETURN(version, UserVersion(*db));
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path, ": schema version ", version,
                     " is newer than this keybrokerd knows (", kSchemaVersion, ")"));
  }
  std::string note = absl::StrCat("database ", path, " (schema version ", version, ")");
  if (version < kSchemaVersion) {
    absl::StrAppend(&note, ": keybrokerd migrates it to version ", kSchemaVersion, " at start");
  }
  if (version < 1) return note;  // no keys a KEK could be checked against yet
  auto store = SqliteKeyStore::Create(db, std::move(keks), SqliteKeyStore::KekCheck::kVerifyOnly);
  if (!store.ok()) return store.status();
  return note;
}

namespace {

// OpenBrokerDatabase once its directory is checked.
absl::StatusOr<std::shared_ptr<SqliteDb>> OpenInCheckedDirectory(const std::string& path) {
  RETURN_IF_ERROR(MakeStateFilesPrivate(path));
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteDb> db, SqliteDb::Open(path, kSchemaV0));
  if (absl::Status s = Migrate(*db); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("database ", path, ": migration: ", s.message()));
  }
  return db;
}

}  // namespace

absl::StatusOr<std::shared_ptr<SqliteDb>> OpenBrokerDatabase(const std::string& path) {
  RETURN_IF_ERROR(CheckStateDirectory(path));
  return OpenInCheckedDirectory(path);
}

absl::StatusOr<BrokerStores> OpenSqliteStores(const std::string& path, KekSet keks) {
  RETURN_IF_ERROR(CheckStateDirectory(path));
  std::shared_ptr<SqliteOwnerLock> owner;
  if (path != ":memory:") {
    ASSIGN_OR_RETURN(owner, SqliteOwnerLock::Acquire(path));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteDb> db, OpenInCheckedDirectory(path));
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteKeyStore> keys,
                   SqliteKeyStore::Create(db, std::move(keks)));
  const SqliteKeyStore* key_store = keys.get();
  // One keybrokerd per SQLite database (`owner`): its challenges need not be in the database.
  BrokerStores stores =
      AssembleBrokerStores<SqliteAttestationKeyRegistry, SqliteAuditLog, SqliteMachineDenyList,
                           SqliteOfflineRevocations, SqliteMachineKeyState, SqliteCollateralStore>(
          std::move(keys), std::make_shared<MemoryChallengeStore>(), db);
  auto reads =
      std::make_shared<SqliteReleaseReads>(db, stores.challenges, key_store, stores.revocations);
  stores.release_reads = reads.get();
  stores.owned.push_back(std::move(reads));
  if (owner) stores.owned.push_back(std::move(owner));
  return stores;
}

}  // namespace kb
