#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_locked_reads.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

constexpr absl::string_view kSelectKey =
    "SELECT k.key_id, k.size_bytes, k.latest_version, k.disabled, k.description, k.created_at, "
    "k.policy_version, COALESCE(p.policy_json, ''), (SELECT COALESCE(MAX(v.version), 0) FROM "
    "key_versions v WHERE v.key_id = k.key_id AND v.retired = 0) FROM keys k LEFT JOIN policies p "
    "ON p.key_id = k.key_id AND p.version = k.policy_version";

KeyRecord ReadKeyRow(const SqliteStatement& st) {
  KeyRecord r;
  r.key_id = st.Text(0);
  r.size_bytes = static_cast<uint32_t>(st.Int(1));
  r.latest_version = static_cast<uint32_t>(st.Int(2));
  r.disabled = st.Int(3) != 0;
  r.description = st.Text(4);
  r.created_at = absl::FromUnixMillis(st.Int(5));
  r.policy_version = static_cast<uint64_t>(st.Int(6));
  r.policy_json = st.Text(7);
  r.active_version = static_cast<uint32_t>(st.Int(8));
  return r;
}

}  // namespace

absl::Status SqliteKeyStore::CreateKey(const KeyRecord& record, const SecretBytes& material) {
  ASSIGN_OR_RETURN(std::string sealed, keks_.Seal(record.key_id, 1, material));
  auto lock = db_->Lock();
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.status());
  const int64_t now = absl::ToUnixMillis(record.created_at);
  ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO keys(key_id, size_bytes, latest_version, "
                                          "description, created_at) VALUES(?, ?, 1, ?, ?)"));
  absl::Status s = ins.Bind(1, record.key_id)
                       .Bind(2, int64_t{record.size_bytes})
                       .Bind(3, record.description)
                       .Bind(4, now)
                       .Run();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(absl::StrCat("key '", record.key_id, "' already exists"));
  }
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(auto ver, db_->Prepare("INSERT INTO key_versions(key_id, version, sealed, "
                                          "created_at, kek_id) VALUES(?, 1, ?, ?, ?)"));
  RETURN_IF_ERROR(ver.Bind(1, record.key_id)
                      .BindBlob(2, sealed)
                      .Bind(3, now)
                      .Bind(4, keks_.current_id())
                      .Run());
  return tx.Commit();
}

absl::StatusOr<std::optional<KeyRecord>> SqliteFindKey(SqliteDb& db, absl::string_view key_id) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(absl::StrCat(kSelectKey, " WHERE k.key_id = ?")));
  st.Bind(1, key_id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<KeyRecord>();
  return ReadKeyRow(st);
}

absl::StatusOr<std::vector<KeyVersionRecord>> SqliteKeyVersions(SqliteDb& db,
                                                                absl::string_view key_id) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT version, retired, created_at FROM key_versions "
                                       "WHERE key_id = ? ORDER BY version"));
  st.Bind(1, key_id);
  std::vector<KeyVersionRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(
        {static_cast<uint32_t>(st.Int(0)), st.Int(1) != 0, absl::FromUnixMillis(st.Int(2))});
  }
}

absl::StatusOr<std::optional<SqliteSealedVersion>> SqliteFindSealed(SqliteDb& db,
                                                                    absl::string_view key_id,
                                                                    uint32_t version) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT sealed, kek_id FROM key_versions "
                                       "WHERE key_id = ? AND version = ?"));
  st.Bind(1, key_id).Bind(2, int64_t{version});
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<SqliteSealedVersion>();
  return SqliteSealedVersion{st.Text(0), st.Int(1)};
}

absl::StatusOr<KeyRecord> SqliteKeyStore::GetKey(absl::string_view key_id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(std::optional<KeyRecord> key, SqliteFindKey(*db_, key_id));
  if (!key.has_value()) return KeyNotFoundError(key_id);
  return *std::move(key);
}

absl::StatusOr<std::vector<KeyRecord>> SqliteKeyStore::ListKeys() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare(absl::StrCat(kSelectKey, " ORDER BY k.key_id")));
  std::vector<KeyRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadKeyRow(st));
  }
}

absl::StatusOr<SecretBytes> SqliteKeyStore::GetKeyMaterial(absl::string_view key_id,
                                                           uint32_t version) {
  std::optional<SqliteSealedVersion> sealed;
  {
    auto lock = db_->Lock();
    ASSIGN_OR_RETURN(sealed, SqliteFindSealed(*db_, key_id, version));
  }
  return OpenSealed(key_id, version, sealed);
}

absl::StatusOr<SecretBytes> SqliteKeyStore::OpenSealed(
    absl::string_view key_id, uint32_t version,
    const std::optional<SqliteSealedVersion>& sealed) const {
  if (!sealed.has_value()) {
    return absl::NotFoundError(absl::StrCat("no version ", version, " of key '", key_id, "'"));
  }
  return keks_.Open(key_id, version, sealed->sealed, sealed->kek_id);
}

absl::StatusOr<uint64_t> SqliteKeyStore::SetPolicy(absl::string_view key_id,
                                                   absl::string_view policy_json,
                                                   std::optional<uint64_t> expected_version) {
  auto lock = db_->Lock();
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(auto up, db_->Prepare("UPDATE keys SET policy_version = policy_version + 1 "
                                         "WHERE key_id = ?1 AND (?2 < 0 OR policy_version = ?2) "
                                         "RETURNING policy_version"));
  const bool unmatchable = NoVersionCanMatch(expected_version);
  bool row = false;
  if (!unmatchable) {
    up.Bind(1, key_id).Bind(2, expected_version ? static_cast<int64_t>(*expected_version) : -1);
    ASSIGN_OR_RETURN(row, up.Step());
    if (!row) RETURN_IF_ERROR(up.Run());
  }
  if (!row) {
    if (!expected_version) return KeyNotFoundError(key_id);  // the unconditional UPDATE found none
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT policy_version FROM keys WHERE key_id = ?"));
    ASSIGN_OR_RETURN(bool exists, st.Bind(1, key_id).Step());
    if (!exists) return KeyNotFoundError(key_id);
    return PolicyChangedError(key_id, *expected_version, static_cast<uint64_t>(st.Int(0)));
  }
  const int64_t version = up.Int(0);
  RETURN_IF_ERROR(up.Run());
  ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO policies(key_id, version, policy_json, "
                                          "created_at) VALUES(?, ?, ?, ?)"));
  RETURN_IF_ERROR(ins.Bind(1, key_id)
                      .Bind(2, version)
                      .Bind(3, policy_json)
                      .Bind(4, absl::ToUnixMillis(absl::Now()))
                      .Run());
  RETURN_IF_ERROR(tx.Commit());
  return static_cast<uint64_t>(version);
}

absl::Status SqliteKeyStore::SetDisabled(absl::string_view key_id, bool disabled) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE keys SET disabled = ? WHERE key_id = ?"));
  RETURN_IF_ERROR(st.Bind(1, int64_t{disabled ? 1 : 0}).Bind(2, key_id).Run());
  if (db_->Changes() == 0) return KeyNotFoundError(key_id);
  return absl::OkStatus();
}

absl::Status SqliteKeyStore::AddVersion(absl::string_view key_id, uint32_t version,
                                        const SecretBytes& material, absl::Time now) {
  ASSIGN_OR_RETURN(std::string sealed, keks_.Seal(key_id, version, material));
  auto lock = db_->Lock();
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(auto up, db_->Prepare("UPDATE keys SET latest_version = ? "
                                         "WHERE key_id = ? AND latest_version = ?"));
  RETURN_IF_ERROR(up.Bind(1, int64_t{version}).Bind(2, key_id).Bind(3, int64_t{version} - 1).Run());
  if (db_->Changes() == 0) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM keys WHERE key_id = ?"));
    ASSIGN_OR_RETURN(bool exists, st.Bind(1, key_id).Step());
    if (!exists) return KeyNotFoundError(key_id);
    return absl::AbortedError(absl::StrCat("key '", key_id, "' was rotated concurrently; retry"));
  }
  ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO key_versions(key_id, version, sealed, "
                                          "created_at, kek_id) VALUES(?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(ins.Bind(1, key_id)
                      .Bind(2, int64_t{version})
                      .BindBlob(3, sealed)
                      .Bind(4, absl::ToUnixMillis(now))
                      .Bind(5, keks_.current_id())
                      .Run());
  return tx.Commit();
}

absl::Status SqliteKeyStore::RetireVersion(absl::string_view key_id, uint32_t version) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE key_versions SET retired = 1 "
                                         "WHERE key_id = ? AND version = ?"));
  RETURN_IF_ERROR(st.Bind(1, key_id).Bind(2, int64_t{version}).Run());
  if (db_->Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("no version ", version, " of key '", key_id, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyVersionRecord>> SqliteKeyStore::ListVersions(
    absl::string_view key_id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> out, SqliteKeyVersions(*db_, key_id));
  if (out.empty()) return KeyNotFoundError(key_id);
  return out;
}

}  // namespace kb
