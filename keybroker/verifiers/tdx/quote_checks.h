#ifndef KB_KEYBROKER_VERIFIERS_TDX_QUOTE_CHECKS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_QUOTE_CHECKS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/pck_extensions.h"
#include "keybroker/verifiers/tdx/tdx_quote.h"

namespace kb {
namespace tdx {

// The named checks over the quote itself. Each returns "evidence check '<name>' failed: ...".

// 'header': version 4 or 5, ECDSA-256-with-P-256 attestation key, TEE type TDX (0x81).
// INVALID_ARGUMENT otherwise.
absl::Status CheckHeader(const TdxQuoteHeader& header);

struct PckChain {
  std::vector<X509Ptr> certs;  // leaf, PCK CA, root (as embedded in the quote)
  EvpPkeyPtr leaf_key;
  PckCertInfo info;
};

// 'pck_chain': certification data type 5; exactly leaf <- PCK Platform/Processor CA <- root,
// the root byte-equal to a trust anchor; validity at `now`; with `crls`, revocation of every
// certificate; the leaf's SGX extension parses. UNAUTHENTICATED / INVALID_ARGUMENT.
absl::StatusOr<PckChain> CheckPckChain(const TdxQuote& quote, const IntelTrustAnchors& anchors,
                                       const std::vector<X509_CRL*>& crls, absl::Time now);

// 'qe_report_signature': the QE report is signed by the PCK leaf key.
absl::Status CheckQeReportSignature(const TdxQuote& quote, EVP_PKEY* pck_key);

// 'qe_report_binding': QE REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zeros.
absl::Status CheckQeReportBinding(const TdxQuote& quote);

// 'quote_signature': the attestation key signs header || body.
absl::Status CheckQuoteSignature(const TdxQuote& quote);

// 'report_data': the TD's REPORTDATA starts with `expected` (at most 64 bytes; the broker's
// binding is 32), in constant time. INVALID_ARGUMENT for more than 64 bytes.
absl::Status CheckReportData(const TdxQuote& quote, absl::string_view expected);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_QUOTE_CHECKS_H_
