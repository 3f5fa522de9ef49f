// PostgreSQL implementations of the AK registry, the machine deny list,
// the offline-grace revocations, enrolment confirmations and offline grants.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_rows.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

RegisteredAk ReadAk(const PgResult& r, int i) {
  return RegisteredAk{r.Bytes(i, 0), r.Text(i, 1), r.Bytes(i, 2),
                      absl::FromUnixMillis(r.Int(i, 3))};
}

}  // namespace

absl::Status PgAttestationKeyRegistry::Register(const RegisteredAk& ak) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  absl::Status s =
      conn->Exec(
              "INSERT INTO attestation_keys(ak_name, machine, ak_public, "
              "registered_at) VALUES($1, $2, $3, $4)",
              {PgParam::Bytes(ak.name), PgParam::Text(ak.machine), PgParam::Bytes(ak.public_area),
               PgParam::Int(absl::ToUnixMillis(ak.registered_at))})
          .status();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError("this attestation key is already registered");
  }
  return s;
}

absl::StatusOr<RegisteredAk> PgAttestationKeyRegistry::Lookup(absl::string_view name) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT ak_name, machine, ak_public, registered_at "
                                          "FROM attestation_keys WHERE ak_name = $1",
                                          {PgParam::Bytes(name)}));
  if (r.rows() == 0) return absl::NotFoundError("attestation key not registered");
  return ReadAk(r, 0);
}

absl::StatusOr<RegisteredAk> PgAttestationKeyRegistry::Remove(absl::string_view name) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("DELETE FROM attestation_keys WHERE ak_name = $1 "
                                          "RETURNING ak_name, machine, ak_public, registered_at",
                                          {PgParam::Bytes(name)}));
  if (r.rows() == 0) return absl::NotFoundError("attestation key not registered");
  return ReadAk(r, 0);
}

absl::StatusOr<std::vector<RegisteredAk>> PgAttestationKeyRegistry::List() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT ak_name, machine, ak_public, registered_at "
                                          "FROM attestation_keys ORDER BY machine, ak_name"));
  std::vector<RegisteredAk> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadAk(r, i));
  return out;
}

absl::Status PgMachineDenyList::Deny(const DeniedMachineRecord& d) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  return conn
      ->Exec(
          "INSERT INTO denied_machines(machine, reason, denied_by, denied_at) VALUES($1, $2, "
          "$3, $4) ON CONFLICT(machine) DO UPDATE SET reason = EXCLUDED.reason, denied_by = "
          "EXCLUDED.denied_by, denied_at = EXCLUDED.denied_at",
          {PgParam::Text(d.machine), PgParam::Text(d.reason), PgParam::Text(d.denied_by),
           PgParam::Int(absl::ToUnixMillis(d.denied_at))})
      .status();
}

absl::StatusOr<bool> PgMachineDenyList::Allow(absl::string_view machine) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("DELETE FROM denied_machines WHERE machine = $1",
                                          {PgParam::Text(machine)}));
  return r.affected() > 0;
}

absl::StatusOr<std::optional<DeniedMachineRecord>> PgMachineDenyList::Find(
    absl::string_view machine) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT machine, reason, denied_by, denied_at FROM "
                                          "denied_machines WHERE machine = $1",
                                          {PgParam::Text(machine)}));
  if (r.rows() == 0) return std::optional<DeniedMachineRecord>();
  return std::optional<DeniedMachineRecord>(PgDeniedRow(r, 0));
}

absl::StatusOr<std::vector<DeniedMachineRecord>> PgMachineDenyList::List() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT machine, reason, denied_by, denied_at FROM "
                                          "denied_machines ORDER BY machine"));
  std::vector<DeniedMachineRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(PgDeniedRow(r, i));
  return out;
}

absl::Status PgOfflineRevocations::Revoke(const OfflineRevocationRecord& v) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  return conn
      ->Exec(
          "INSERT INTO offline_revocations(key_id, machine, reason, revoked_by, revoked_at) "
          "VALUES($1, $2, $3, $4, $5) ON CONFLICT(key_id, machine) DO UPDATE SET reason = "
          "EXCLUDED.reason, revoked_by = EXCLUDED.revoked_by, revoked_at = "
          "EXCLUDED.revoked_at",
          {PgParam::Text(v.key_id), PgParam::Text(v.machine), PgParam::Text(v.reason),
           PgParam::Text(v.revoked_by), PgParam::Int(absl::ToUnixMillis(v.revoked_at))})
      .status();
}

absl::StatusOr<bool> PgOfflineRevocations::Restore(absl::string_view key_id,
                                                   absl::string_view machine) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("DELETE FROM offline_revocations WHERE key_id = $1 "
                                          "AND machine = $2",
                                          {PgParam::Text(key_id), PgParam::Text(machine)}));
  return r.affected() > 0;
}

absl::StatusOr<std::optional<OfflineRevocationRecord>> PgOfflineRevocations::Find(
    absl::string_view key_id, absl::string_view machine) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  // The machine's own revocation sorts before the all-machines one ('').
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT key_id, machine, reason, revoked_by, "
                                          "revoked_at FROM offline_revocations WHERE key_id = $1 "
                                          "AND (machine = $2 OR machine = '') ORDER BY machine "
                                          "DESC LIMIT 1",
                                          {PgParam::Text(key_id), PgParam::Text(machine)}));
  if (r.rows() == 0) return std::optional<OfflineRevocationRecord>();
  return std::optional<OfflineRevocationRecord>(PgRevocationRow(r, 0));
}

absl::StatusOr<std::vector<OfflineRevocationRecord>> PgOfflineRevocations::List(
    absl::string_view key_id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Exec("SELECT key_id, machine, reason, revoked_by, "
                              "revoked_at FROM offline_revocations WHERE $1::TEXT = '' OR "
                              "key_id = $1 ORDER BY key_id, machine",
                              {PgParam::Text(key_id)}));
  std::vector<OfflineRevocationRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(PgRevocationRow(r, i));
  return out;
}

absl::Status PgMachineKeyState::Confirm(const EnrolmentConfirmation& c) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  return conn
      ->Exec(
          "INSERT INTO enrolment_confirmations(key_id, machine, version, confirmed_at) "
          "VALUES($1, $2, $3, $4) ON CONFLICT(key_id, machine) DO UPDATE SET version = "
          "EXCLUDED.version, confirmed_at = EXCLUDED.confirmed_at",
          {PgParam::Text(c.key_id), PgParam::Text(c.machine), PgParam::Int(c.version),
           PgParam::Int(absl::ToUnixMillis(c.confirmed_at))})
      .status();
}

absl::StatusOr<std::vector<EnrolmentConfirmation>> PgMachineKeyState::ListConfirmations(
    absl::string_view key_id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT key_id, machine, version, confirmed_at FROM "
                                          "enrolment_confirmations WHERE key_id = $1 ORDER BY "
                                          "machine",
                                          {PgParam::Text(key_id)}));
  std::vector<EnrolmentConfirmation> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.Text(i, 0), r.Text(i, 1), static_cast<uint32_t>(r.Int(i, 2)),
                   absl::FromUnixMillis(r.Int(i, 3))});
  }
  return out;
}

absl::Status PgMachineKeyState::RecordRelease(const OfflineGrantRecord& g) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  if (g.offline_boots == 0) {
    return conn
        ->Exec("DELETE FROM offline_grants WHERE key_id = $1 AND machine = $2",
               {PgParam::Text(g.key_id), PgParam::Text(g.machine)})
        .status();
  }
  return conn
      ->Exec(
          "INSERT INTO offline_grants(key_id, machine, key_version, offline_boots, "
          "granted_at) VALUES($1, $2, $3, $4, $5) ON CONFLICT(key_id, machine) DO UPDATE SET "
          "key_version = EXCLUDED.key_version, offline_boots = EXCLUDED.offline_boots, "
          "granted_at = EXCLUDED.granted_at",
          {PgParam::Text(g.key_id), PgParam::Text(g.machine), PgParam::Int(g.key_version),
           PgParam::Int(g.offline_boots), PgParam::Int(absl::ToUnixMillis(g.granted_at))})
      .status();
}

absl::StatusOr<std::vector<OfflineGrantRecord>> PgMachineKeyState::ListGrants(
    absl::string_view key_id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT key_id, machine, key_version, offline_boots, "
                                          "granted_at FROM offline_grants WHERE $1::TEXT = '' OR "
                                          "key_id = $1 ORDER BY key_id, machine",
                                          {PgParam::Text(key_id)}));
  std::vector<OfflineGrantRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.Text(i, 0), r.Text(i, 1), static_cast<uint32_t>(r.Int(i, 2)),
                   static_cast<uint32_t>(r.Int(i, 3)), absl::FromUnixMillis(r.Int(i, 4))});
  }
  return out;
}

absl::StatusOr<ForgetCounts> PgMachineKeyState::Forget(const ForgottenMachineRecord& f) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction tx(*conn);
  RETURN_IF_ERROR(tx.status());
  ForgetCounts counts;
  for (const ForgetTable& t : kForgetTables) {
    ASSIGN_OR_RETURN(PgResult r,
                     conn->Exec(absl::StrCat("DELETE FROM ", t.table, " WHERE machine = $1"),
                                {PgParam::Text(f.machine)}));
    counts.*t.count = r.affected();
  }
  RETURN_IF_ERROR(conn->Exec("INSERT INTO forgotten_machines(machine, forgotten_by, "
                             "forgotten_at) VALUES($1, $2, $3) ON CONFLICT(machine) DO UPDATE "
                             "SET forgotten_by = EXCLUDED.forgotten_by, forgotten_at = "
                             "EXCLUDED.forgotten_at",
                             {PgParam::Text(f.machine), PgParam::Text(f.forgotten_by),
                              PgParam::Int(absl::ToUnixMillis(f.forgotten_at))})
                      .status());
  RETURN_IF_ERROR(tx.Commit());
  return counts;
}

absl::StatusOr<std::vector<ForgottenMachineRecord>> PgMachineKeyState::ListForgotten() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT machine, forgotten_by, forgotten_at FROM "
                                          "forgotten_machines ORDER BY machine"));
  std::vector<ForgottenMachineRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.Text(i, 0), r.Text(i, 1), absl::FromUnixMillis(r.Int(i, 2))});
  }
  return out;
}

}  // namespace kb
