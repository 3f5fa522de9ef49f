#include "keybroker/collateral/verifying_collateral_cache.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr std::size_t kMaxNameSize = 256;

// Refuses to replace a cached entry with an older one (by notBefore / issueDate / thisUpdate).
absl::Status RefuseOlder(const CollateralRecord& existing, const CollateralRecord& incoming) {
  if (existing.not_before <= incoming.not_before) return absl::OkStatus();
  return ImportCheckFailed(
      kImportCheckNewer, absl::StatusCode::kFailedPrecondition,
      absl::StrCat("the cached ", existing.kind, " ", existing.id, " for ", existing.identity,
                   " is newer (from ",
                   absl::FormatTime(absl::RFC3339_sec, existing.not_before, absl::UTCTimeZone()),
                   "); delete it first to go back"));
}

}  // namespace

absl::StatusOr<CollateralImport> VerifyingCollateralCache::Import(absl::string_view content,
                                                                  absl::string_view name) {
  if (name.size() > kMaxNameSize) {
    return absl::InvalidArgumentError(absl::StrCat("name exceeds ", kMaxNameSize, " bytes"));
  }
  std::vector<std::string> intel_issuers;
  for (absl::string_view kind : {kCollateralIntelTcbSigning, kCollateralIntelPckCa}) {
    ASSIGN_OR_RETURN(std::vector<CollateralRecord> certs, store_->FindCollateral(kind, ""));
    for (CollateralRecord& c : certs) intel_issuers.push_back(std::move(c.content));
  }
  const absl::Time now = clock_->Now();
  CollateralImport out;
  ASSIGN_OR_RETURN(out.entry, RecognizeCollateral(content, trust_, intel_issuers, now));
  out.entry.name = std::string(name);
  out.entry.imported_at = now;
  ASSIGN_OR_RETURN(out.replaced, store_->PutCollateral(out.entry, &RefuseOlder));
  return out;
}

absl::StatusOr<std::vector<CollateralRecord>> VerifyingCollateralCache::List() {
  return store_->ListCollateral();
}

absl::StatusOr<CollateralRecord> VerifyingCollateralCache::Delete(absl::string_view id) {
  return store_->DeleteCollateral(id);
}

}  // namespace kb
