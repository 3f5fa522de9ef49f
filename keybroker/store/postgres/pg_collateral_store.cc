// PostgreSQL implementation of the operator-managed collateral cache.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// The advisory lock key under which a replica replaces a collateral entry ("kbcoll").
constexpr int64_t kCollateralLock = 0x6b62636f6c6c;

constexpr absl::string_view kCollateralColumns =
    "id, kind, slot, lookup_key, identity, name, not_before, not_after, imported_at, content";

std::vector<CollateralRecord> ReadAll(const PgResult& r) {
  std::vector<CollateralRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    CollateralRecord c;
    c.id = r.Text(i, 0);
    c.kind = r.Text(i, 1);
    c.slot = r.Text(i, 2);
    c.lookup_key = r.Text(i, 3);
    c.identity = r.Text(i, 4);
    c.name = r.Text(i, 5);
    c.not_before = absl::FromUnixSeconds(r.Int(i, 6));
    c.not_after = absl::FromUnixSeconds(r.Int(i, 7));
    c.imported_at = absl::FromUnixMillis(r.Int(i, 8));
    c.content = r.Bytes(i, 9);
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status Insert(PgConnection& conn, const CollateralRecord& c) {
  return conn
      .Exec(absl::StrCat("INSERT INTO collateral(", kCollateralColumns,
                         ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            {PgParam::Text(c.id), PgParam::Text(c.kind), PgParam::Text(c.slot),
             PgParam::Text(c.lookup_key), PgParam::Text(c.identity), PgParam::Text(c.name),
             PgParam::Int(absl::ToUnixSeconds(c.not_before)),
             PgParam::Int(absl::ToUnixSeconds(c.not_after)),
             PgParam::Int(absl::ToUnixMillis(c.imported_at)), PgParam::Bytes(c.content)})
      .status();
}

}  // namespace

absl::StatusOr<std::vector<CollateralRecord>> PgCollateralStore::FindCollateral(
    absl::string_view kind, absl::string_view lookup_key) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Exec(absl::StrCat("SELECT ", kCollateralColumns,
                                           " FROM collateral WHERE kind = $1 AND ($2::TEXT = '' "
                                           "OR lookup_key = $2) ORDER BY not_before DESC, id"),
                              {PgParam::Text(kind), PgParam::Text(lookup_key)}));
  return ReadAll(r);
}

absl::StatusOr<std::optional<CollateralRecord>> PgCollateralStore::PutCollateral(
    const CollateralRecord& record,
    absl::Status (*check_replace)(const CollateralRecord&, const CollateralRecord&)) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction tx(*conn);
  RETURN_IF_ERROR(tx.status());
  // Imports through two replicas at once replace one another in turn, never both at once.
  RETURN_IF_ERROR(
      conn->Exec("SELECT pg_advisory_xact_lock($1)", {PgParam::Int(kCollateralLock)}).status());
  ASSIGN_OR_RETURN(PgResult found,
                   conn->Exec(absl::StrCat("SELECT ", kCollateralColumns,
                                           " FROM collateral WHERE kind = $1 AND slot = $2"),
                              {PgParam::Text(record.kind), PgParam::Text(record.slot)}));
  std::vector<CollateralRecord> existing = ReadAll(found);
  std::optional<CollateralRecord> replaced;
  if (!existing.empty()) {
    replaced = std::move(existing.front());
    if (check_replace != nullptr) RETURN_IF_ERROR(check_replace(*replaced, record));
  }
  // The same content under another slot cannot happen (the slot derives from the content).
  RETURN_IF_ERROR(
      conn->Exec("DELETE FROM collateral WHERE (kind = $1 AND slot = $2) OR id = $3",
                 {PgParam::Text(record.kind), PgParam::Text(record.slot), PgParam::Text(record.id)})
          .status());
  RETURN_IF_ERROR(Insert(*conn, record));
  RETURN_IF_ERROR(tx.Commit());
  return replaced;
}

absl::StatusOr<std::vector<CollateralRecord>> PgCollateralStore::ListCollateral() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Exec(absl::StrCat("SELECT ", kCollateralColumns,
                                           " FROM collateral ORDER BY kind, identity")));
  return ReadAll(r);
}

absl::StatusOr<CollateralRecord> PgCollateralStore::DeleteCollateral(absl::string_view id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec(absl::StrCat("DELETE FROM collateral WHERE id = $1 "
                                                       "RETURNING ",
                                                       kCollateralColumns),
                                          {PgParam::Text(id)}));
  std::vector<CollateralRecord> gone = ReadAll(r);
  if (gone.empty()) {
    return absl::NotFoundError(absl::StrCat("no collateral entry with id '", id, "'"));
  }
  return std::move(gone.front());
}

}  // namespace kb
