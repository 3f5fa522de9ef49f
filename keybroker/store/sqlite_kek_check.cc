// SqliteKeyStore::Create: the configured KEKs against the check values stored with the keys
// (one per KEK the database has known; schema version 6, one only in version 5).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

absl::StatusOr<bool> HasTable(SqliteDb& db, absl::string_view name) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                       "name = ?"));
  return st.Bind(1, name).Step();
}

// The stored check values. Read-only checks (--check-config) may meet a database from before
// version 6 (one value, table kek_check) or 5 (none).
absl::Status ReadCheckValues(SqliteDb& db, bool v6, StoredKeks& out) {
  ASSIGN_OR_RETURN(const bool v5, HasTable(db, "kek_check"));
  if (!v6 && !v5) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto st, db.Prepare(absl::StrCat("SELECT id, sealed, description, fingerprint "
                                                    "FROM ",
                                                    v6 ? "keks" : "kek_check", " ORDER BY id")));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    out.check_values.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3)});
  }
}

// Key versions per KEK number (all under number 1 before version 6), and the first one.
absl::Status ReadVersions(SqliteDb& db, bool v6, StoredKeks& out) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(v6 ? "SELECT kek_id, COUNT(*) FROM key_versions GROUP BY "
                                            "kek_id ORDER BY kek_id"
                                          : "SELECT 1, COUNT(*) FROM key_versions HAVING "
                                            "COUNT(*) > 0"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.versions.emplace_back(st.Int(0), st.Int(1));
  }
  ASSIGN_OR_RETURN(auto first, db.Prepare("SELECT key_id, version, sealed FROM key_versions "
                                          "ORDER BY key_id, version LIMIT 1"));
  ASSIGN_OR_RETURN(bool has_keys, first.Step());
  if (has_keys) {
    out.first_version = {first.Text(0), static_cast<uint32_t>(first.Int(1)), first.Text(2)};
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteKeyStore>> SqliteKeyStore::Create(std::shared_ptr<SqliteDb> db,
                                                                       KekSet keks,
                                                                       KekCheck check) {
  auto lock = db->Lock();
  ASSIGN_OR_RETURN(const bool v6, HasTable(*db, "keks"));
  StoredKeks stored;
  RETURN_IF_ERROR(ReadCheckValues(*db, v6, stored));
  RETURN_IF_ERROR(ReadVersions(*db, v6, stored));
  ASSIGN_OR_RETURN(SealingKeks sealing, SealingKeks::Match(std::move(keks), stored));
  if (sealing.current_is_new() && check == KekCheck::kVerifyAndRecord && v6) {
    ASSIGN_OR_RETURN(StoredKeks::CheckValue value, sealing.CheckValue());
    ASSIGN_OR_RETURN(auto ins, db->Prepare("INSERT INTO keks(id, sealed, description, "
                                           "fingerprint) VALUES(?, ?, ?, ?)"));
    RETURN_IF_ERROR(ins.Bind(1, value.id)
                        .BindBlob(2, value.sealed)
                        .Bind(3, value.description)
                        .Bind(4, value.fingerprint)
                        .Run());
  }
  lock.unlock();
  return std::unique_ptr<SqliteKeyStore>(new SqliteKeyStore(std::move(db), std::move(sealing)));
}

}  // namespace kb
