#ifndef KB_KEYBROKER_VERIFIERS_TDX_CHECKS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_CHECKS_H_

#include "absl/strings/string_view.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace tdx {

// Names of the TDX verification checks, as reported in rejections (kb::CheckFailed()).
inline constexpr absl::string_view kCheckHeader = "header";
inline constexpr absl::string_view kCheckParse = "parse";
inline constexpr absl::string_view kCheckPckChain = "pck_chain";
inline constexpr absl::string_view kCheckQeReportSignature = "qe_report_signature";
inline constexpr absl::string_view kCheckQeReportBinding = "qe_report_binding";
inline constexpr absl::string_view kCheckQuoteSignature = "quote_signature";
inline constexpr absl::string_view kCheckCollateral = "collateral";
inline constexpr absl::string_view kCheckTcbStatus = "tcb_status";
inline constexpr absl::string_view kCheckTdxModule = "tdx_module";
inline constexpr absl::string_view kCheckQeIdentity = "qe_identity";
inline constexpr absl::string_view kCheckReportData = "report_data";

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_CHECKS_H_
