#ifndef KB_KEYBROKER_VERIFIERS_TDX_TDX_CLAIMS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_TDX_CLAIMS_H_

#include "keybroker/verifiers/api/claims.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"

namespace kb {

// Turns verified TDX claims into the generic Claims that policy sees (docs/policy.md lists
// every attribute name). evidence_type "tdx"; machine "tdx-fmspc:<fmspc>" (a platform type,
// not one host); attributes tdx.*.
Claims ClaimsFromTdx(const tdx::TdxClaims& tdx);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_TDX_CLAIMS_H_
