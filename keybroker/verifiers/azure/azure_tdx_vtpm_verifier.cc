#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace {

using absl::StatusCode;

// TDREPORT_STRUCT offsets: REPORTMACSTRUCT at 0, TDINFO at 0x200.
constexpr std::size_t kTdReportTypeOffset = 0x00;
constexpr std::size_t kTdReportDataOffset = 0x80;
constexpr std::size_t kTdMrTdOffset = 0x210;
constexpr std::size_t kTdRtmrOffset = 0x2D0;
constexpr std::size_t kMeasurementSize = 48;
constexpr uint8_t kTdReportTypeTdx = 0x81;

absl::StatusOr<std::pair<HclReport, TdReportFields>> CheckHclAndTdReportParse(
    absl::string_view bytes) {
  auto hcl = ParseTdxHclReport(bytes);
  if (!hcl.ok()) {
    return CheckFailed(kAzCheckHclParse, StatusCode::kInvalidArgument, hcl.status().message());
  }
  auto td = ParseTdReport(hcl->hw_report);
  if (!td.ok()) {
    return CheckFailed(kAzCheckHclParse, StatusCode::kInvalidArgument, td.status().message());
  }
  // Binds the runtime claims to the TDREPORT; the TD quote checks then vouch for the TDREPORT.
  RETURN_IF_ERROR(CheckRuntimeDataDigest(*hcl, td->report_data));
  return std::make_pair(*std::move(hcl), *std::move(td));
}

absl::Status BindingFailed(absl::string_view field) {
  return CheckFailed(kAzCheckTdQuoteBinding, StatusCode::kUnauthenticated,
                     absl::StrCat("TD quote ", field,
                                  " does not match the HCL report's TDREPORT (a quote for "
                                  "another TD report or another VM)"));
}

}  // namespace

absl::StatusOr<TdReportFields> ParseTdReport(absl::string_view td_report) {
  if (td_report.size() != kTdReportSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDREPORT is ", td_report.size(), " bytes, not ", kTdReportSize));
  }
  const auto type = static_cast<uint8_t>(td_report[kTdReportTypeOffset]);
  if (type != kTdReportTypeTdx) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDREPORT REPORTTYPE.TYPE is 0x", absl::Hex(type), ", not TDX (0x81)"));
  }
  TdReportFields f;
  f.report_data = std::string(td_report.substr(kTdReportDataOffset, 64));
  f.mr_td = std::string(td_report.substr(kTdMrTdOffset, kMeasurementSize));
  for (std::size_t i = 0; i < f.rtmr.size(); ++i) {
    f.rtmr[i] =
        std::string(td_report.substr(kTdRtmrOffset + i * kMeasurementSize, kMeasurementSize));
  }
  return f;
}

absl::Status CheckTdQuoteBinding(const TdReportFields& td_report, const tdx::TdxClaims& quote) {
  if (!ConstantTimeEquals(HexEncode(td_report.report_data), quote.report_data)) {
    return BindingFailed("REPORTDATA");
  }
  if (!ConstantTimeEquals(HexEncode(td_report.mr_td), quote.mr_td)) return BindingFailed("MRTD");
  for (std::size_t i = 0; i < td_report.rtmr.size(); ++i) {
    if (!ConstantTimeEquals(HexEncode(td_report.rtmr[i]), quote.rtmr[i])) {
      return BindingFailed(absl::StrCat("RTMR", i));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AzureTdxVtpmClaims> VerifyAzureTdxVtpm(const AzureTdxVtpmInput& input) {
  ASSIGN_OR_RETURN(auto parsed, CheckHclAndTdReportParse(input.hcl_report));
  auto& [hcl, td_report] = parsed;
  tdx::TdxVerifyInput tdx_in;
  tdx_in.quote = input.td_quote;
  tdx_in.collateral = input.collateral;
  tdx_in.anchors = input.anchors;
  tdx_in.now = input.verify_time;
  tdx_in.options = input.options;
  AzureTdxVtpmClaims claims;
  ASSIGN_OR_RETURN(claims.tdx, tdx::VerifyTdxQuote(tdx_in));
  RETURN_IF_ERROR(CheckTdQuoteBinding(td_report, claims.tdx));
  RETURN_IF_ERROR(VerifyRuntimeClaimsAndQuote(hcl.runtime_data, input.expected_user_data,
                                              input.quote, input.expected_nonce, claims));
  return claims;
}

}  // namespace kb
