#ifndef KB_KEYBROKER_COLLATERAL_VERIFYING_COLLATERAL_CACHE_H_
#define KB_KEYBROKER_COLLATERAL_VERIFYING_COLLATERAL_CACHE_H_

#include "common/clock.h"
#include "keybroker/collateral/collateral_admin.h"
#include "keybroker/collateral/collateral_recognizer.h"
#include "keybroker/store/collateral_store.h"

namespace kb {

// CollateralAdmin over a CollateralStore: every import is recognised and verified
// (RecognizeCollateral) against `trust` at the clock's time, Intel CRLs and tcbInfo / QE
// identity signatures also against the Intel certificates already cached. A cached entry with
// the same kind and identity is replaced unless it is newer (check "newer"). The store and
// clock are not owned. Thread-safe.
class VerifyingCollateralCache final : public CollateralAdmin {
 public:
  VerifyingCollateralCache(CollateralStore* store, CollateralTrust trust, const Clock* clock)
      : store_(store), trust_(std::move(trust)), clock_(clock) {}
  absl::StatusOr<CollateralImport> Import(absl::string_view content,
                                          absl::string_view name) override;
  absl::StatusOr<std::vector<CollateralRecord>> List() override;
  absl::StatusOr<CollateralRecord> Delete(absl::string_view id) override;

 private:
  CollateralStore* store_;
  const CollateralTrust trust_;
  const Clock* clock_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_COLLATERAL_VERIFYING_COLLATERAL_CACHE_H_
