#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_TDX_VTPM_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_TDX_VTPM_VERIFIER_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/azure/azure_hcl.h"
#include "keybroker/verifiers/azure/azure_vtpm_claims.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {

// Name of the check that ties the TD quote to the HCL report's TDREPORT.
inline constexpr absl::string_view kAzCheckTdQuoteBinding = "td_quote_binding";

// The fields of a TDREPORT_STRUCT (Intel TDX module ABI; Azure HwVmReport.h TDX_VM_REPORT)
// that its TD quote repeats. Raw bytes.
struct TdReportFields {
  std::string report_data;          // REPORTMACSTRUCT.REPORTDATA, 64
  std::string mr_td;                // TDINFO.MRTD, 48
  std::array<std::string, 4> rtmr;  // TDINFO.RTMR0..3, 48 each
};

// Reads a 1024-byte TDREPORT. INVALID_ARGUMENT for another size or a REPORTTYPE.TYPE that is
// not TDX (0x81). Its MAC cannot be checked off the platform: trust comes from the TD quote.
absl::StatusOr<TdReportFields> ParseTdReport(absl::string_view td_report);

// Evidence from an Azure TDX confidential VM: the HCL report (TDREPORT inside), the TD quote
// Azure IMDS made for that TDREPORT, and a vTPM quote signed by the HCL-attested AK.
struct AzureTdxVtpmInput {
  std::string hcl_report;
  std::string td_quote;
  // TDX quote verification, as for plain TDX evidence (tdx::TdxVerifyInput).
  const tdx::TdxCollateral* collateral = nullptr;
  const tdx::IntelTrustAnchors* anchors = nullptr;  // null: the embedded Intel SGX Root CA
  tdx::TdxVerifyOptions options;
  absl::Time verify_time;
  // When set, runtime claims "user-data" must equal it (zero-padded to its length).
  std::optional<std::string> expected_user_data;
  TpmQuote quote;
  // When set, the vTPM quote's extraData must equal it.
  std::optional<std::string> expected_nonce;
};

// What verified Azure TDX vTPM evidence says. Hex is lowercase.
struct AzureTdxVtpmClaims : AzureVtpmClaimsBase {
  tdx::TdxClaims tdx;  // from the verified TD quote
};

// Verifies Azure TDX vTPM evidence offline through the checks hcl_parse (report type TDX,
// TDREPORT readable), runtime_data_digest (TDREPORT REPORTDATA[0:32] == SHA-256(runtime
// claims)), the TDX quote checks of tdx::VerifyTdxQuote() (header ... qe_identity),
// td_quote_binding (the quote's REPORTDATA, MRTD and RTMR0..3 equal the TDREPORT's),
// ak_from_runtime_claims, user_data (when expected), then quote_parse, quote_signature,
// quote_nonce and pcr_digest. INVALID_ARGUMENT for malformed input, FAILED_PRECONDITION for
// missing required collateral, UNAUTHENTICATED when a check fails; the message names the check.
absl::StatusOr<AzureTdxVtpmClaims> VerifyAzureTdxVtpm(const AzureTdxVtpmInput& input);

// Check td_quote_binding: the verified TD quote (`quote`) was made for `td_report`.
absl::Status CheckTdQuoteBinding(const TdReportFields& td_report, const tdx::TdxClaims& quote);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_TDX_VTPM_VERIFIER_H_
