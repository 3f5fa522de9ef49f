// SQLite implementations of the AK registry, the machine deny list and
// the offline-grace revocations.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

RegisteredAk ReadAkRow(const SqliteStatement& st) {
  return RegisteredAk{st.Text(0), st.Text(1), st.Text(2), absl::FromUnixMillis(st.Int(3))};
}

}  // namespace

absl::Status SqliteAttestationKeyRegistry::Register(const RegisteredAk& ak) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO attestation_keys(ak_name, machine, "
                                         "ak_public, registered_at) VALUES(?, ?, ?, ?)"));
  absl::Status s = st.BindBlob(1, ak.name)
                       .Bind(2, ak.machine)
                       .BindBlob(3, ak.public_area)
                       .Bind(4, absl::ToUnixMillis(ak.registered_at))
                       .Run();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError("this attestation key is already registered");
  }
  return s;
}

absl::StatusOr<std::optional<RegisteredAk>> SqliteFindAk(SqliteDb& db, absl::string_view name) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT ak_name, machine, ak_public, registered_at "
                                       "FROM attestation_keys WHERE ak_name = ?"));
  st.BindBlob(1, name);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<RegisteredAk>();
  return ReadAkRow(st);
}

absl::StatusOr<RegisteredAk> SqliteAttestationKeyRegistry::Lookup(absl::string_view name) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(std::optional<RegisteredAk> ak, SqliteFindAk(*db_, name));
  if (!ak.has_value()) return absl::NotFoundError("attestation key not registered");
  return *std::move(ak);
}

absl::StatusOr<std::vector<RegisteredAk>> SqliteAttestationKeyRegistry::List() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT ak_name, machine, ak_public, registered_at "
                                         "FROM attestation_keys ORDER BY machine"));
  std::vector<RegisteredAk> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadAkRow(st));
  }
}

absl::StatusOr<RegisteredAk> SqliteAttestationKeyRegistry::Remove(absl::string_view name) {
  ASSIGN_OR_RETURN(RegisteredAk ak, Lookup(name));
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM attestation_keys WHERE ak_name = ?"));
  RETURN_IF_ERROR(st.BindBlob(1, name).Run());
  if (db_->Changes() == 0) return absl::NotFoundError("attestation key not registered");
  return ak;
}

absl::Status SqliteMachineDenyList::Deny(const DeniedMachineRecord& r) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO denied_machines(machine, reason, "
                                         "denied_by, denied_at) VALUES(?, ?, ?, ?)"));
  return st.Bind(1, r.machine)
      .Bind(2, r.reason)
      .Bind(3, r.denied_by)
      .Bind(4, absl::ToUnixMillis(r.denied_at))
      .Run();
}

absl::StatusOr<bool> SqliteMachineDenyList::Allow(absl::string_view machine) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM denied_machines WHERE machine = ?"));
  RETURN_IF_ERROR(st.Bind(1, machine).Run());
  return db_->Changes() > 0;
}

absl::StatusOr<std::optional<DeniedMachineRecord>> SqliteFindDenied(SqliteDb& db,
                                                                    absl::string_view machine) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT machine, reason, denied_by, denied_at "
                                       "FROM denied_machines WHERE machine = ?"));
  st.Bind(1, machine);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<DeniedMachineRecord>();
  return DeniedMachineRecord{st.Text(0), st.Text(1), st.Text(2), absl::FromUnixMillis(st.Int(3))};
}

absl::StatusOr<std::optional<DeniedMachineRecord>> SqliteMachineDenyList::Find(
    absl::string_view machine) {
  auto lock = db_->Lock();
  return SqliteFindDenied(*db_, machine);
}

absl::StatusOr<std::vector<DeniedMachineRecord>> SqliteMachineDenyList::List() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT machine, reason, denied_by, denied_at "
                                         "FROM denied_machines ORDER BY machine"));
  std::vector<DeniedMachineRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back({st.Text(0), st.Text(1), st.Text(2), absl::FromUnixMillis(st.Int(3))});
  }
}

absl::Status SqliteOfflineRevocations::Revoke(const OfflineRevocationRecord& r) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO offline_revocations(key_id, "
                                         "machine, reason, revoked_by, revoked_at) "
                                         "VALUES(?, ?, ?, ?, ?)"));
  return st.Bind(1, r.key_id)
      .Bind(2, r.machine)
      .Bind(3, r.reason)
      .Bind(4, r.revoked_by)
      .Bind(5, absl::ToUnixMillis(r.revoked_at))
      .Run();
}

absl::StatusOr<bool> SqliteOfflineRevocations::Restore(absl::string_view key_id,
                                                       absl::string_view machine) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM offline_revocations "
                                         "WHERE key_id = ? AND machine = ?"));
  RETURN_IF_ERROR(st.Bind(1, key_id).Bind(2, machine).Run());
  return db_->Changes() > 0;
}

absl::StatusOr<std::optional<OfflineRevocationRecord>> SqliteOfflineRevocations::Find(
    absl::string_view key_id, absl::string_view machine) {
  auto lock = db_->Lock();
  // The machine's own revocation sorts before the all-machines one ('').
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT key_id, machine, reason, revoked_by, revoked_at "
                                         "FROM offline_revocations WHERE key_id = ? AND "
                                         "(machine = ? OR machine = '') ORDER BY machine DESC "
                                         "LIMIT 1"));
  st.Bind(1, key_id).Bind(2, machine);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<OfflineRevocationRecord>();
  return OfflineRevocationRecord{st.Text(0), st.Text(1), st.Text(2), st.Text(3),
                                 absl::FromUnixMillis(st.Int(4))};
}

absl::StatusOr<std::vector<OfflineRevocationRecord>> SqliteOfflineRevocations::List(
    absl::string_view key_id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT key_id, machine, reason, revoked_by, revoked_at "
                                         "FROM offline_revocations WHERE ?1 = '' OR key_id = ?1 "
                                         "ORDER BY key_id, machine"));
  st.Bind(1, key_id);
  std::vector<OfflineRevocationRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(
        {st.Text(0), st.Text(1), st.Text(2), st.Text(3), absl::FromUnixMillis(st.Int(4))});
  }
}

}  // namespace kb
