#ifndef KB_KEYBROKER_VERIFIERS_TDX_TCB_STATUS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_TCB_STATUS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keybroker/verifiers/tdx/collateral.h"
#include "keybroker/verifiers/tdx/pck_extensions.h"
#include "keybroker/verifiers/tdx/tdx_quote.h"

namespace kb {
namespace tdx {

enum class TcbStatus {
  kUpToDate,
  kSwHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSwHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
  kTcbNotSupported,  // no TCB level matches: the platform is unknown to this collateral
  kNotEvaluated,     // collateral not required by the caller
};

// Intel's spelling ("UpToDate", "SWHardeningNeeded", ..., "TCB_NOT_SUPPORTED").
absl::string_view TcbStatusName(TcbStatus status);
// Parses Intel's spelling. INVALID_ARGUMENT for anything else.
absl::StatusOr<TcbStatus> ParseTcbStatus(absl::string_view name);

struct TcbEvaluation {
  TcbStatus status = TcbStatus::kNotEvaluated;
  std::string tcb_date;                    // of the matching tcbLevel
  std::vector<std::string> advisory_ids;   // tcbLevel's, then the TDX module level's
  std::optional<TcbStatus> module_status;  // set when TEE_TCB_SVN[1] > 0
  int tdx_compare_start = 0;               // first TEE_TCB_SVN index compared (0 or 2)
};

// Intel QVL's TDX TCB evaluation (QuoteVerifier.cpp / TdxModuleCheck.cpp): FMSPC and PCE-ID
// must match; the first tcbLevel whose SGX components and PCESVN are <= the PCK cert's and whose
// TDX components are <= TEE_TCB_SVN (from index 2 when the TDX module major version
// TEE_TCB_SVN[1] > 0) gives the status; a TDX module identity "TDX_%02X" then contributes its
// level (OutOfDate downgrades, Revoked wins). No matching level => kTcbNotSupported.
// Errors name the check: 'tcb_status' (FMSPC/PCE-ID mismatch, unknown status string) or
// 'tdx_module' (MRSIGNERSEAM/SEAMATTRIBUTES mismatch, module identity missing); both
// UNAUTHENTICATED.
absl::StatusOr<TcbEvaluation> EvaluateTdxTcb(const TdReportBody& body, const PckCertInfo& pck,
                                             const TcbInfo& info);

// Intel QVL's convergence of the platform's TCB status with another component's (the TDX
// module's, or the quoting enclave's from its identity): Revoked wins, TCB_NOT_SUPPORTED
// stays, and an OutOfDate component makes UpToDate / SWHardeningNeeded OutOfDate and the
// ConfigurationNeeded ones OutOfDateConfigurationNeeded.
TcbStatus ConvergeTcbStatus(TcbStatus platform, TcbStatus component);

struct QeIdentityEvaluation {
  TcbStatus status = TcbStatus::kNotEvaluated;  // UpToDate / OutOfDate / Revoked
  std::string tcb_date;
  std::vector<std::string> advisory_ids;
};

// Checks the QE report against the TD_QE identity: MRSIGNER, ISVPRODID, MISCSELECT and
// ATTRIBUTES under their masks, then the first level with isvsvn <= the report's ISVSVN.
// UNAUTHENTICATED naming 'qe_identity' for a mismatch or when no level matches.
absl::StatusOr<QeIdentityEvaluation> EvaluateQeIdentity(const SgxReportBody& qe_report,
                                                        const QeIdentity& identity);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_TCB_STATUS_H_
