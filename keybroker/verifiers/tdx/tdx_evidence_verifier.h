#ifndef KB_KEYBROKER_VERIFIERS_TDX_TDX_EVIDENCE_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_TDX_TDX_EVIDENCE_VERIFIER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"

namespace kb {

// Intel PCS collateral for the platforms a broker serves, keyed by FMSPC. Immutable once
// built; thread-safe.
class TdxCollateralCache {
 public:
  // Sorts `items` by content (kb::tdx::SortCollateral): every item that is not a tcbInfo is
  // shared (QE identity, CRLs, issuer chains); each tcbInfo makes the set for its FMSPC.
  // INVALID_ARGUMENT naming the item for unrecognised content or two shared QE identities.
  static absl::StatusOr<std::unique_ptr<TdxCollateralCache>> FromItems(
      const std::vector<std::string>& items);
  // The regular files of `dir` and of its direct subdirectories, as FromItems. NOT_FOUND if
  // the directory does not exist.
  static absl::StatusOr<std::unique_ptr<TdxCollateralCache>> LoadDir(const std::string& dir);

  // The collateral for the platform whose PCK certificate (in `quote`) names an FMSPC with a
  // tcbInfo here; otherwise the shared items alone (verification then reports the missing
  // tcbInfo). Never null.
  const tdx::TdxCollateral* ForQuote(absl::string_view quote) const;
  size_t platform_count() const { return by_fmspc_.size(); }

 private:
  TdxCollateralCache() = default;
  tdx::TdxCollateral shared_;
  std::map<std::string, tdx::TdxCollateral> by_fmspc_;  // raw 6-byte FMSPC
};

// Verifies TdxQuoteEvidence with a TransferKey.spki_der key: every check of
// kb::tdx::VerifyTdxQuote() (header ... qe_identity) with all collateral required, at the
// clock's time, then report_data (REPORTDATA[0:32] == binding).
// Claims: ClaimsFromTdx() (tdx_claims.h). Thread-safe.
class TdxEvidenceVerifier final : public EvidenceVerifier {
 public:
  // `cache`: the operator-managed collateral cache (not owned; null: none), used together
  // with `collateral` as TdxCollateralWithCache() says (newest valid item wins).
  TdxEvidenceVerifier(tdx::IntelTrustAnchors anchors,
                      std::shared_ptr<const TdxCollateralCache> collateral, const Clock* clock,
                      CollateralSource* cache = nullptr)
      : anchors_(std::move(anchors)),
        collateral_(std::move(collateral)),
        clock_(clock),
        cache_(cache) {}
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                                absl::string_view expected_binding) override;

  // The same checks with the binding skipped (dry run; see EvidenceVerifier).
  absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                       const v1::TransferKey& transfer_key) override;

 private:
  // Verify() when `binding` is set, VerifyUnbound() when it is nullopt.
  absl::StatusOr<Claims> Check(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                               std::optional<absl::string_view> binding);
  const tdx::IntelTrustAnchors anchors_;
  const std::shared_ptr<const TdxCollateralCache> collateral_;  // null: none configured
  const Clock* clock_;                                          // not owned
  CollateralSource* const cache_;                               // not owned; may be null
};

// The collateral to verify `quote` with: `dir`'s (tdx_collateral_dir; may be null) and, when
// `cache` is set, the cache's merged with it into `storage` as TdxCollateralWithCache() says
// (newest valid item wins). Null when neither is configured. UNAVAILABLE from the cache.
// Shared by the TDX and Azure TDX vTPM verifiers.
absl::StatusOr<const tdx::TdxCollateral*> TdxCollateralForQuote(const TdxCollateralCache* dir,
                                                                CollateralSource* cache,
                                                                absl::string_view quote,
                                                                absl::Time now,
                                                                tdx::TdxCollateral& storage);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_TDX_EVIDENCE_VERIFIER_H_
