#ifndef KB_KEYBROKER_COLLATERAL_CACHED_COLLATERAL_H_
#define KB_KEYBROKER_COLLATERAL_CACHED_COLLATERAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/tdx/collateral_set.h"

namespace kb {

// How verifiers use the operator-managed collateral cache. Validity is enforced here again at
// use time: an entry that expired since its import is a named rejection, never a pass.

// The cached VCEK (VLEK when the report says it is VLEK-signed) for an SEV-SNP `report` (raw
// bytes) that carries none: its hwID is the report's CHIP_ID (the first 8 bytes on Turin) and
// its SPLs equal REPORTED_TCB. Of several, the newest valid at `now`. Returns the certificate
// (DER). Errors: check "parse" INVALID_ARGUMENT for a report that does not parse or when no
// cached certificate matches ("no VCEK/VLEK ..."); check "cert_chain" UNAUTHENTICATED when
// every match has expired (or is not yet valid) at `now`; UNAVAILABLE from the store.
absl::StatusOr<std::string> SnpKeyCertFromCache(CollateralSource& cache, absl::string_view report,
                                                absl::Time now);

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

#endif  // KB_KEYBROKER_COLLATERAL_CACHED_COLLATERAL_H_
