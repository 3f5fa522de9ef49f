// PgKeyStore: keys, their sealed versions and their policies on PostgreSQL.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_rows.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

const std::string& SelectKey() {
  static const std::string* const kSelect = new std::string(
      absl::StrCat("SELECT ", kPgKeyColumns, ", ", kPgActiveVersion,
                   " FROM keys k LEFT JOIN policies p ON p.key_id = k.key_id AND p.version = "
                   "k.policy_version"));
  return *kSelect;
}

absl::Status NoVersion(absl::string_view key_id, uint32_t version) {
  return absl::NotFoundError(absl::StrCat("no version ", version, " of key '", key_id, "'"));
}

}  // namespace

absl::Status PgKeyStore::CreateKey(const KeyRecord& record, const SecretBytes& material) {
  ASSIGN_OR_RETURN(std::string sealed, keks_.Seal(record.key_id, 1, material));
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction tx(*conn);
  RETURN_IF_ERROR(tx.status());
  const int64_t now = absl::ToUnixMillis(record.created_at);
  absl::Status s = conn->Exec(
                           "INSERT INTO keys(key_id, size_bytes, latest_version, description, "
                           "created_at) VALUES($1, $2, 1, $3, $4)",
                           {PgParam::Text(record.key_id), PgParam::Int(record.size_bytes),
                            PgParam::Text(record.description), PgParam::Int(now)})
                       .status();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(absl::StrCat("key '", record.key_id, "' already exists"));
  }
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(conn->Exec("INSERT INTO key_versions(key_id, version, sealed, created_at, "
                             "kek_id) VALUES($1, 1, $2, $3, $4)",
                             {PgParam::Text(record.key_id), PgParam::Bytes(sealed),
                              PgParam::Int(now), PgParam::Int(keks_.current_id())})
                      .status());
  return tx.Commit();
}

absl::StatusOr<KeyRecord> PgKeyStore::GetKey(absl::string_view key_id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec(absl::StrCat(SelectKey(), " WHERE k.key_id = $1"),
                                          {PgParam::Text(key_id)}));
  if (r.rows() == 0) return KeyNotFoundError(key_id);
  return PgKeyRow(r, 0);
}

absl::StatusOr<std::vector<KeyRecord>> PgKeyStore::ListKeys() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec(absl::StrCat(SelectKey(), " ORDER BY k.key_id")));
  std::vector<KeyRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(PgKeyRow(r, i));
  return out;
}

absl::StatusOr<SecretBytes> PgKeyStore::GetKeyMaterial(absl::string_view key_id, uint32_t version) {
  std::string sealed;
  int64_t kek_id = 0;
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT sealed, kek_id FROM key_versions WHERE "
                                            "key_id = $1 AND version = $2",
                                            {PgParam::Text(key_id), PgParam::Int(version)}));
    if (r.rows() == 0) return NoVersion(key_id, version);
    sealed = r.Bytes(0, 0);
    kek_id = r.Int(0, 1);
  }
  return keks_.Open(key_id, version, sealed, kek_id);
}

absl::StatusOr<uint64_t> PgKeyStore::SetPolicy(absl::string_view key_id,
                                               absl::string_view policy_json,
                                               std::optional<uint64_t> expected_version) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction tx(*conn);
  RETURN_IF_ERROR(tx.status());
  // A conditional UPDATE: a concurrent writer's change of the row is seen (READ COMMITTED
  // re-checks the condition on the newest row version), so only one of two editors wins.
  const bool unmatchable = NoVersionCanMatch(expected_version);
  std::optional<PgResult> up;
  if (!unmatchable) {
    const int64_t expected = expected_version ? static_cast<int64_t>(*expected_version) : -1;
    ASSIGN_OR_RETURN(up, conn->Exec("UPDATE keys SET policy_version = policy_version + 1 "
                                    "WHERE key_id = $1 AND ($2::BIGINT < 0 OR "
                                    "policy_version = $2::BIGINT) RETURNING policy_version",
                                    {PgParam::Text(key_id), PgParam::Int(expected)}));
  }
  if (!up.has_value() || up->rows() == 0) {
    if (!expected_version) return KeyNotFoundError(key_id);  // the unconditional UPDATE found none
    ASSIGN_OR_RETURN(PgResult now, conn->Exec("SELECT policy_version FROM keys WHERE key_id = $1",
                                              {PgParam::Text(key_id)}));
    if (now.rows() == 0) return KeyNotFoundError(key_id);
    return PolicyChangedError(key_id, *expected_version, static_cast<uint64_t>(now.Int(0, 0)));
  }
  const int64_t version = up->Int(0, 0);
  RETURN_IF_ERROR(
      conn->Exec("INSERT INTO policies(key_id, version, policy_json, created_at) "
                 "VALUES($1, $2, $3, $4)",
                 {PgParam::Text(key_id), PgParam::Int(version), PgParam::Text(policy_json),
                  PgParam::Int(absl::ToUnixMillis(absl::Now()))})
          .status());
  RETURN_IF_ERROR(tx.Commit());
  return static_cast<uint64_t>(version);
}

absl::Status PgKeyStore::SetDisabled(absl::string_view key_id, bool disabled) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Exec("UPDATE keys SET disabled = $1 WHERE key_id = $2",
                              {PgParam::Text(disabled ? "t" : "f"), PgParam::Text(key_id)}));
  if (r.affected() == 0) return KeyNotFoundError(key_id);
  return absl::OkStatus();
}

absl::Status PgKeyStore::AddVersion(absl::string_view key_id, uint32_t version,
                                    const SecretBytes& material, absl::Time now) {
  ASSIGN_OR_RETURN(std::string sealed, keks_.Seal(key_id, version, material));
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction tx(*conn);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(PgResult up, conn->Exec("UPDATE keys SET latest_version = $1 WHERE key_id = $2 "
                                           "AND latest_version = $3",
                                           {PgParam::Int(version), PgParam::Text(key_id),
                                            PgParam::Int(int64_t{version} - 1)}));
  if (up.affected() == 0) {
    ASSIGN_OR_RETURN(PgResult exists,
                     conn->Exec("SELECT 1 FROM keys WHERE key_id = $1", {PgParam::Text(key_id)}));
    if (exists.rows() == 0) return KeyNotFoundError(key_id);
    return absl::AbortedError(absl::StrCat("key '", key_id, "' was rotated concurrently; retry"));
  }
  RETURN_IF_ERROR(
      conn->Exec("INSERT INTO key_versions(key_id, version, sealed, created_at, "
                 "kek_id) VALUES($1, $2, $3, $4, $5)",
                 {PgParam::Text(key_id), PgParam::Int(version), PgParam::Bytes(sealed),
                  PgParam::Int(absl::ToUnixMillis(now)), PgParam::Int(keks_.current_id())})
          .status());
  return tx.Commit();
}

absl::Status PgKeyStore::RetireVersion(absl::string_view key_id, uint32_t version) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("UPDATE key_versions SET retired = TRUE WHERE "
                                          "key_id = $1 AND version = $2",
                                          {PgParam::Text(key_id), PgParam::Int(version)}));
  if (r.affected() == 0) return NoVersion(key_id, version);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyVersionRecord>> PgKeyStore::ListVersions(absl::string_view key_id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT version, retired, created_at FROM key_versions "
                                          "WHERE key_id = $1 ORDER BY version",
                                          {PgParam::Text(key_id)}));
  std::vector<KeyVersionRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({static_cast<uint32_t>(r.Int(i, 0)), r.Text(i, 1) == "t",
                   absl::FromUnixMillis(r.Int(i, 2))});
  }
  if (out.empty()) return KeyNotFoundError(key_id);
  return out;
}

}  // namespace kb
