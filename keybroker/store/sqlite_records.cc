// SQLite implementations of the challenge store, the AK registry and the audit log.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

// Expired challenges are swept every this many Put() calls.
constexpr uint64_t kSweepEvery = 256;

RegisteredAk ReadAkRow(const SqliteStatement& st) {
  return RegisteredAk{st.Text(0), st.Text(1), st.Text(2), absl::FromUnixMillis(st.Int(3))};
}

}  // namespace

absl::Status SqliteChallengeStore::Put(const Challenge& c, absl::Time now) {
  auto lock = db_->Lock();
  if (++puts_ % kSweepEvery == 0) {
    ASSIGN_OR_RETURN(auto sweep, db_->Prepare("DELETE FROM challenges WHERE expires_at < ?"));
    RETURN_IF_ERROR(sweep.Bind(1, absl::ToUnixMillis(now)).Run());
  }
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO challenges(id, key_id, nonce, expires_at) "
                                         "VALUES(?, ?, ?, ?)"));
  return st.Bind(1, c.id)
      .Bind(2, c.key_id)
      .BindBlob(3, c.nonce)
      .Bind(4, absl::ToUnixMillis(c.expires_at))
      .Run();
}

absl::StatusOr<Challenge> SqliteChallengeStore::Consume(absl::string_view id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE challenges SET used = 1 WHERE id = ? AND "
                                         "used = 0 RETURNING key_id, nonce, expires_at"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError("challenge unknown or already used");
  Challenge c{std::string(id), st.Text(0), st.Text(1), absl::FromUnixMillis(st.Int(2))};
  RETURN_IF_ERROR(st.Run());
  return c;
}

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

absl::StatusOr<RegisteredAk> SqliteAttestationKeyRegistry::Lookup(absl::string_view name) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT ak_name, machine, ak_public, registered_at "
                                         "FROM attestation_keys WHERE ak_name = ?"));
  st.BindBlob(1, name);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError("attestation key not registered");
  return ReadAkRow(st);
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

absl::Status SqliteAuditLog::Append(const AuditRecord& r) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO audit(time, actor, action, key_id, "
                                         "key_version, decision, reason) "
                                         "VALUES(?, ?, ?, ?, ?, ?, ?)"));
  return st.Bind(1, absl::ToUnixMillis(r.time))
      .Bind(2, r.actor)
      .Bind(3, r.action)
      .Bind(4, r.key_id)
      .Bind(5, int64_t{r.key_version})
      .Bind(6, r.decision)
      .Bind(7, r.reason)
      .Run();
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::List(int limit) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT id, time, actor, action, key_id, key_version, "
                                         "decision, reason FROM audit ORDER BY id DESC LIMIT ?"));
  st.Bind(1, int64_t{limit});
  std::vector<AuditRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(AuditRecord{static_cast<uint64_t>(st.Int(0)), absl::FromUnixMillis(st.Int(1)),
                              st.Text(2), st.Text(3), st.Text(4), static_cast<uint32_t>(st.Int(5)),
                              st.Text(6), st.Text(7)});
  }
}

}  // namespace kb
