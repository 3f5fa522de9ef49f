#ifndef KB_KEYBROKER_COLLATERAL_COLLATERAL_RECOGNIZER_H_
#define KB_KEYBROKER_COLLATERAL_COLLATERAL_RECOGNIZER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/tdx/intel_roots.h"

namespace kb {

// Names of the import checks, as reported in refusals ("collateral check '<name>' failed").
inline constexpr absl::string_view kImportCheckRecognise = "recognise";
inline constexpr absl::string_view kImportCheckTrustAnchor = "trust_anchor";
inline constexpr absl::string_view kImportCheckValidity = "validity";
inline constexpr absl::string_view kImportCheckChain = "chain";
inline constexpr absl::string_view kImportCheckSignature = "signature";
inline constexpr absl::string_view kImportCheckNewer = "newer";

// "collateral check '<check>' failed: <detail>" with `code`.
absl::Status ImportCheckFailed(absl::string_view check, absl::StatusCode code,
                               absl::string_view detail);

// What imported collateral must chain to: the broker's trust anchors, never the cache.
struct CollateralTrust {
  std::string amd_chain_pem;     // amd_chain_file (ASK/ASVK + ARK); empty: the built-in chains
  tdx::IntelTrustAnchors intel;  // Intel roots and pinned TCB signing certificates
};

// Recognises `content` by what it is and checks it at `now`, in order:
//  recognise     a VCEK or VLEK (PEM or DER; a PEM bundle may add self-signed roots), an
//                Intel SGX TCB Signing or PCK CA certificate, a PCS TDX tcbInfo or TD_QE
//                enclave identity JSON, or a CRL (PEM or DER). INVALID_ARGUMENT otherwise.
//  trust_anchor  AMD ARK/ASK/ASVK and Intel roots are trust anchors (built in or from the
//                config), never cached: FAILED_PRECONDITION.
//  validity      `now` inside notBefore..notAfter / issueDate..nextUpdate /
//                thisUpdate..nextUpdate: FAILED_PRECONDITION otherwise.
//  chain         certificates: VCEK/VLEK to the AMD chain of their product; Intel
//                certificates to an Intel root. CRLs: an issuer is known. FAILED_PRECONDITION.
//  signature     tcbInfo / QE identity: signed by a pinned TCB key or by the Intel TCB Signing
//                certificate among `intel_issuers` (cached Intel certificates, their content);
//                CRLs: by their issuer (an Intel root or one of `intel_issuers`).
// Returns the record without name and imported_at.
absl::StatusOr<CollateralRecord> RecognizeCollateral(absl::string_view content,
                                                     const CollateralTrust& trust,
                                                     const std::vector<std::string>& intel_issuers,
                                                     absl::Time now);

}  // namespace kb

#endif  // KB_KEYBROKER_COLLATERAL_COLLATERAL_RECOGNIZER_H_
