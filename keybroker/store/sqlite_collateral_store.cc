// SQLite implementation of the operator-managed collateral cache.
#include "keybroker/store/sqlite_collateral_store.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr absl::string_view kColumns =
    "id, kind, slot, lookup_key, identity, name, not_before, not_after, imported_at, content";

CollateralRecord RowToRecord(const SqliteStatement& st) {
  CollateralRecord r;
  r.id = st.Text(0);
  r.kind = st.Text(1);
  r.slot = st.Text(2);
  r.lookup_key = st.Text(3);
  r.identity = st.Text(4);
  r.name = st.Text(5);
  r.not_before = absl::FromUnixSeconds(st.Int(6));
  r.not_after = absl::FromUnixSeconds(st.Int(7));
  r.imported_at = absl::FromUnixMillis(st.Int(8));
  r.content = st.Text(9);
  return r;
}

absl::StatusOr<std::vector<CollateralRecord>> ReadAll(SqliteStatement& st) {
  std::vector<CollateralRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(RowToRecord(st));
  }
}

// Caller holds the DB lock.
absl::StatusOr<std::optional<CollateralRecord>> FindSlot(SqliteDb& db, absl::string_view kind,
                                                         absl::string_view slot) {
  ASSIGN_OR_RETURN(auto st,
                   db.Prepare(absl::StrCat("SELECT ", kColumns,
                                           " FROM collateral WHERE kind = ? AND slot = ?")));
  st.Bind(1, kind).Bind(2, slot);
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> found, ReadAll(st));
  if (found.empty()) return std::optional<CollateralRecord>();
  return std::optional<CollateralRecord>(std::move(found.front()));
}

absl::Status Insert(SqliteDb& db, const CollateralRecord& r) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(absl::StrCat("INSERT INTO collateral(", kColumns,
                                                    ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")));
  return st.Bind(1, r.id)
      .Bind(2, r.kind)
      .Bind(3, r.slot)
      .Bind(4, r.lookup_key)
      .Bind(5, r.identity)
      .Bind(6, r.name)
      .Bind(7, absl::ToUnixSeconds(r.not_before))
      .Bind(8, absl::ToUnixSeconds(r.not_after))
      .Bind(9, absl::ToUnixMillis(r.imported_at))
      .BindBlob(10, r.content)
      .Run();
}

absl::Status DeleteId(SqliteDb& db, absl::string_view id) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("DELETE FROM collateral WHERE id = ?"));
  return st.Bind(1, id).Run();
}

}  // namespace

absl::StatusOr<std::vector<CollateralRecord>> SqliteCollateralStore::FindCollateral(
    absl::string_view kind, absl::string_view lookup_key) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare(absl::StrCat(
                                "SELECT ", kColumns,
                                " FROM collateral WHERE kind = ?1 AND (?2 = '' OR lookup_key = ?2) "
                                "ORDER BY not_before DESC, id")));
  st.Bind(1, kind).Bind(2, lookup_key);
  return ReadAll(st);
}

absl::StatusOr<std::optional<CollateralRecord>> SqliteCollateralStore::PutCollateral(
    const CollateralRecord& record,
    absl::Status (*check_replace)(const CollateralRecord&, const CollateralRecord&)) {
  auto lock = db_->Lock();
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(std::optional<CollateralRecord> existing,
                   FindSlot(*db_, record.kind, record.slot));
  if (existing.has_value()) {
    if (check_replace != nullptr) RETURN_IF_ERROR(check_replace(*existing, record));
    RETURN_IF_ERROR(DeleteId(*db_, existing->id));
  }
  // The same content under another slot cannot happen (the slot derives from the content).
  RETURN_IF_ERROR(DeleteId(*db_, record.id));
  RETURN_IF_ERROR(Insert(*db_, record));
  RETURN_IF_ERROR(tx.Commit());
  return existing;
}

absl::StatusOr<std::vector<CollateralRecord>> SqliteCollateralStore::ListCollateral() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare(absl::StrCat("SELECT ", kColumns,
                                                      " FROM collateral ORDER BY kind, identity")));
  return ReadAll(st);
}

absl::StatusOr<CollateralRecord> SqliteCollateralStore::DeleteCollateral(absl::string_view id) {
  auto lock = db_->Lock();
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(
      auto st, db_->Prepare(absl::StrCat("SELECT ", kColumns, " FROM collateral WHERE id = ?")));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> found, ReadAll(st));
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no collateral entry with id '", id, "'"));
  }
  RETURN_IF_ERROR(DeleteId(*db_, id));
  RETURN_IF_ERROR(tx.Commit());
  return std::move(found.front());
}

}  // namespace kb
