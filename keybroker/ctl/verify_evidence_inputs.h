#ifndef KB_KEYBROKER_CTL_VERIFY_EVIDENCE_INPUTS_H_
#define KB_KEYBROKER_CTL_VERIFY_EVIDENCE_INPUTS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keybroker/ctl/verify_evidence.h"
#include "keybroker/verifiers/snp/azure_quote.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"
#include "keybroker/verifiers/tdx_evidence_verifier.h"

namespace kb {

// The input files of `keybrokerctl verify-evidence` (verify_evidence.cc), read and parsed.

// The contents of `path`; empty for an empty path. NOT_FOUND / PERMISSION_DENIED as ReadFile.
absl::StatusOr<std::string> ReadInput(const std::string& path);

// The SHA-256 PCR values of --pcrs: raw 32-byte values (PCR i at offset 32*i), or text lines
// "INDEX HEX" / "INDEX: HEX" / "INDEX=HEX" (a "sha256:" prefix allowed, '#' comments).
// INVALID_ARGUMENT naming --pcrs otherwise.
absl::StatusOr<std::vector<std::string>> ParsePcrFile(const std::string& data);

// The vTPM quote of --tpm-quote: the azure-cvm-tooling bincode container when there is no
// --tpm-signature, else the TPMS_ATTEST with --tpm-signature (TPMT_SIGNATURE or bare RSASSA)
// and the --pcrs values.
absl::StatusOr<AzureTpmQuote> LoadQuote(const VerifyEvidenceArgs& a);

// Intel trust anchors (--cert-chain, else the embedded root; --pinned-tcb-signer) and the
// --collateral directory (null without one).
struct TdxInputs {
  tdx::IntelTrustAnchors anchors;
  std::unique_ptr<TdxCollateralCache> cache;
};

// Loads TdxInputs. A --collateral problem also sets `*input_error` (an operator input error).
absl::StatusOr<TdxInputs> LoadTdxInputs(const VerifyEvidenceArgs& a, std::string* input_error);

// The collateral for `quote` and the requirements for offline inspection: with --collateral
// the tcbInfo, and whatever else the directory holds; without it, nothing.
std::pair<const tdx::TdxCollateral*, tdx::TdxVerifyOptions> TdxCollateralFor(
    const TdxInputs& in, absl::string_view quote);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_VERIFY_EVIDENCE_INPUTS_H_
