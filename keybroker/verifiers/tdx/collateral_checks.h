#ifndef KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_CHECKS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_CHECKS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"

namespace kb {
namespace tdx {

struct CollateralRequirements {
  bool tcb_info = true;
  bool qe_identity = true;
  bool crls = true;
};

// 'collateral': every item present must be current and genuine, and every required item must be
// present. tcbInfo and QE identity: [issueDate, nextUpdate] contains `now` ("tcbInfo has
// expired"), then the signature over the exact signed text by a pinned TCB signing key or by an
// "Intel SGX TCB Signing" certificate from the collateral that chains to a root at `now`
// (revocation checked with the collateral CRLs). CRLs: signed by a root, a collateral issuer
// certificate or one of `extra_issuers`, and current. FAILED_PRECONDITION for a missing required
// item, UNAUTHENTICATED otherwise.
absl::Status CheckCollateral(const TdxCollateral& collateral, const IntelTrustAnchors& anchors,
                             const std::vector<X509*>& extra_issuers, absl::Time now,
                             const CollateralRequirements& required);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_CHECKS_H_
