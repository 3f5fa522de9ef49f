#ifndef KB_KEYBROKER_VERIFIERS_TDX_TDX_COLLATERAL_LOOKUP_H_
#define KB_KEYBROKER_VERIFIERS_TDX_TDX_COLLATERAL_LOOKUP_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/tdx/collateral_set.h"

namespace kb {

// How the TDX verifiers use the operator-managed collateral cache. Validity is enforced again
// at use time, by the verifier's 'collateral' check.

// The TDX collateral for a quote whose PCK certificate names `fmspc` (raw 6 bytes; empty if
// unknown): `base` (from tdx_collateral_dir; may be null) and the cache together. Precedence,
// per item: the newest (by issueDate, CRLs by thisUpdate per issuer) among those valid at
// `now` wins, from either source; when none is valid, the newest is kept so that the
// verifier's 'collateral' check names its expiry. tcbInfo: the cache's for `fmspc`, else
// base's. Intel issuer certificates of both are offered, valid ones last (the verifier uses
// the last TCB Signing certificate). UNAVAILABLE from the store.
absl::StatusOr<tdx::TdxCollateral> TdxCollateralWithCache(const tdx::TdxCollateral* base,
                                                          CollateralSource& cache,
                                                          absl::string_view fmspc, absl::Time now);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_TDX_COLLATERAL_LOOKUP_H_
