// SQLite implementations of the enrolment confirmations, the offline grants and the forgotten
// machines.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {

absl::Status SqliteMachineKeyState::Confirm(const EnrolmentConfirmation& c) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO enrolment_confirmations(key_id, "
                                         "machine, version, confirmed_at) VALUES(?, ?, ?, ?)"));
  return st.Bind(1, c.key_id)
      .Bind(2, c.machine)
      .Bind(3, int64_t{c.version})
      .Bind(4, absl::ToUnixMillis(c.confirmed_at))
      .Run();
}

absl::StatusOr<std::vector<EnrolmentConfirmation>> SqliteMachineKeyState::ListConfirmations(
    absl::string_view key_id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT key_id, machine, version, confirmed_at FROM "
                                         "enrolment_confirmations WHERE key_id = ? "
                                         "ORDER BY machine"));
  st.Bind(1, key_id);
  std::vector<EnrolmentConfirmation> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back({st.Text(0), st.Text(1), static_cast<uint32_t>(st.Int(2)),
                   absl::FromUnixMillis(st.Int(3))});
  }
}

absl::StatusOr<bool> SqliteHoldsGrant(SqliteDb& db, absl::string_view key_id,
                                      absl::string_view machine) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT 1 FROM offline_grants "
                                       "WHERE key_id = ? AND machine = ?"));
  st.Bind(1, key_id).Bind(2, machine);
  return st.Step();  // the statement is reset when `st` goes, before any write
}

absl::Status SqliteMachineKeyState::RecordRelease(const OfflineGrantRecord& r) {
  auto lock = db_->Lock();
  if (r.offline_boots == 0) {
    // Most releases grant no offline boots to a machine that holds no grant: a read then
    // suffices, without a write transaction.
    ASSIGN_OR_RETURN(const bool holds, SqliteHoldsGrant(*db_, r.key_id, r.machine));
    if (!holds) return absl::OkStatus();
  }
  // On every allowed release, so no fsync of its own: the release's synchronous audit commit
  // follows and makes it durable (see SqliteUnsyncedWrites).
  SqliteUnsyncedWrites unsynced(*db_);
  RETURN_IF_ERROR(unsynced.status());
  if (r.offline_boots == 0) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM offline_grants "
                                           "WHERE key_id = ? AND machine = ?"));
    return st.Bind(1, r.key_id).Bind(2, r.machine).Run();
  }
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO offline_grants(key_id, machine, "
                                         "key_version, offline_boots, granted_at) "
                                         "VALUES(?, ?, ?, ?, ?)"));
  return st.Bind(1, r.key_id)
      .Bind(2, r.machine)
      .Bind(3, int64_t{r.key_version})
      .Bind(4, int64_t{r.offline_boots})
      .Bind(5, absl::ToUnixMillis(r.granted_at))
      .Run();
}

absl::StatusOr<std::vector<OfflineGrantRecord>> SqliteMachineKeyState::ListGrants(
    absl::string_view key_id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT key_id, machine, key_version, offline_boots, "
                                         "granted_at FROM offline_grants WHERE ?1 = '' OR "
                                         "key_id = ?1 ORDER BY key_id, machine"));
  st.Bind(1, key_id);
  std::vector<OfflineGrantRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back({st.Text(0), st.Text(1), static_cast<uint32_t>(st.Int(2)),
                   static_cast<uint32_t>(st.Int(3)), absl::FromUnixMillis(st.Int(4))});
  }
}

absl::StatusOr<ForgetCounts> SqliteMachineKeyState::Forget(const ForgottenMachineRecord& r) {
  auto lock = db_->Lock();
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.status());
  ForgetCounts counts;
  for (const ForgetTable& t : kForgetTables) {
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare(absl::StrCat("DELETE FROM ", t.table, " WHERE machine = ?")));
    RETURN_IF_ERROR(st.Bind(1, r.machine).Run());
    counts.*t.count = db_->Changes();
  }
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO forgotten_machines(machine, "
                                         "forgotten_by, forgotten_at) VALUES(?, ?, ?)"));
  RETURN_IF_ERROR(st.Bind(1, r.machine)
                      .Bind(2, r.forgotten_by)
                      .Bind(3, absl::ToUnixMillis(r.forgotten_at))
                      .Run());
  RETURN_IF_ERROR(tx.Commit());
  return counts;
}

absl::StatusOr<std::vector<ForgottenMachineRecord>> SqliteMachineKeyState::ListForgotten() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT machine, forgotten_by, forgotten_at FROM "
                                         "forgotten_machines ORDER BY machine"));
  std::vector<ForgottenMachineRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back({st.Text(0), st.Text(1), absl::FromUnixMillis(st.Int(2))});
  }
}

}  // namespace kb
