// CollateralCacheAdmin: the operator-managed collateral cache (keybrokerctl collateral).
#include "keybroker/admin/collateral_cache_admin.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/admin/admin_protos.h"

namespace kb {

namespace {

constexpr std::size_t kMaxCollateralSize = 1 << 20;

v1::CollateralEntry EntryProto(const CollateralRecord& r) {
  v1::CollateralEntry e;
  e.set_id(r.id);
  e.set_kind(r.kind);
  e.set_identity(r.identity);
  e.set_lookup_key(r.lookup_key);
  SetTime(e.mutable_not_before(), r.not_before);
  SetTime(e.mutable_not_after(), r.not_after);
  SetTime(e.mutable_imported_at(), r.imported_at);
  e.set_name(r.name);
  return e;
}

absl::Status NoCache() {
  return absl::FailedPreconditionError("this broker has no collateral cache");
}

}  // namespace

absl::StatusOr<v1::ImportCollateralResponse> CollateralCacheAdmin::ImportCollateral(
    const v1::ImportCollateralRequest& r, Caller caller) {
  return d_.run->Run<v1::ImportCollateralResponse>(
      {"import_collateral", caller, Permission::kOperate, ""},
      [&](AdminOutcome& outcome) -> absl::StatusOr<v1::ImportCollateralResponse> {
        if (d_.collateral == nullptr) return NoCache();
        if (r.content().size() > kMaxCollateralSize) {
          return absl::InvalidArgumentError(
              absl::StrCat("collateral content exceeds ", kMaxCollateralSize, " bytes"));
        }
        auto imported = d_.collateral->Import(r.content(), r.name());
        if (!imported.ok()) {
          return absl::Status(
              imported.status().code(),
              absl::StrCat("'", r.name().substr(0, 256), "': ", imported.status().message()));
        }
        v1::ImportCollateralResponse out;
        *out.mutable_entry() = EntryProto(imported->entry);
        if (imported->replaced) out.set_replaced_id(imported->replaced->id);
        outcome.detail = absl::StrCat(
            "imported ", imported->entry.kind, " ", imported->entry.id, " (",
            imported->entry.identity, ")",
            imported->replaced ? absl::StrCat(" replacing ", imported->replaced->id) : "");
        return out;
      });
}

absl::StatusOr<v1::ListCollateralResponse> CollateralCacheAdmin::ListCollateral(
    const v1::ListCollateralRequest&, Caller caller) {
  return d_.run->Run<v1::ListCollateralResponse>(
      {"list_collateral", caller, Permission::kReadMetadata, ""},
      [&](AdminOutcome&) -> absl::StatusOr<v1::ListCollateralResponse> {
        if (d_.collateral == nullptr) return NoCache();
        ASSIGN_OR_RETURN(std::vector<CollateralRecord> entries, d_.collateral->List());
        v1::ListCollateralResponse out;
        for (const CollateralRecord& e : entries) *out.add_entries() = EntryProto(e);
        return out;
      });
}

absl::StatusOr<v1::DeleteCollateralResponse> CollateralCacheAdmin::DeleteCollateral(
    const v1::DeleteCollateralRequest& r, Caller caller) {
  return d_.run->Run<v1::DeleteCollateralResponse>(
      {"delete_collateral", caller, Permission::kOperate, ""},
      [&](AdminOutcome& outcome) -> absl::StatusOr<v1::DeleteCollateralResponse> {
        if (d_.collateral == nullptr) return NoCache();
        if (r.id().empty() || r.id().size() > 64) {
          return absl::InvalidArgumentError("id must be 1..64 characters (see collateral list)");
        }
        ASSIGN_OR_RETURN(CollateralRecord deleted, d_.collateral->Delete(r.id()));
        outcome.detail =
            absl::StrCat("deleted ", deleted.kind, " ", deleted.id, " (", deleted.identity, ")");
        v1::DeleteCollateralResponse out;
        *out.mutable_deleted() = EntryProto(deleted);
        return out;
      });
}

}  // namespace kb
