#ifndef KB_KEYBROKER_VERIFIERS_SNP_SNP_COLLATERAL_LOOKUP_H_
#define KB_KEYBROKER_VERIFIERS_SNP_SNP_COLLATERAL_LOOKUP_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/store/collateral_store.h"

namespace kb {

// How the SEV-SNP verifier uses the operator-managed collateral cache. Validity is enforced
// here again at use time: an entry that expired since its import is a named rejection.

// The cached VCEK (VLEK when the report says it is VLEK-signed) for an SEV-SNP `report` (raw
// bytes) that carries none: its hwID is the report's CHIP_ID (the first 8 bytes on Turin) and
// its SPLs equal REPORTED_TCB. Of several, the newest valid at `now`. Returns the certificate
// (DER). Errors: check "parse" INVALID_ARGUMENT for a report that does not parse or when no
// cached certificate matches ("no VCEK/VLEK ..."); check "cert_chain" UNAUTHENTICATED when
// every match has expired (or is not yet valid) at `now`; UNAVAILABLE from the store.
absl::StatusOr<std::string> SnpKeyCertFromCache(CollateralSource& cache, absl::string_view report,
                                                absl::Time now);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_SNP_COLLATERAL_LOOKUP_H_
