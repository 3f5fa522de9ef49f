#ifndef KB_KEYBROKER_VERIFIERS_TDX_TDX_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_TDX_TDX_VERIFIER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/tcb_status.h"

namespace kb {
namespace tdx {

// Which collateral must be present. Everything is required by default; a caller that turns a
// requirement off gets kNotEvaluated in the matching claim instead of a silent pass.
struct TdxVerifyOptions {
  bool require_tcb_info = true;     // tcb_status (and tdx_module)
  bool require_qe_identity = true;  // qe_identity
  bool require_crls = true;         // revocation of the PCK chain (Root CA + PCK CA CRLs)
};

struct TdxVerifyInput {
  absl::string_view quote;                          // raw quote bytes (padding after it is ignored)
  const TdxCollateral* collateral = nullptr;        // may be null when nothing is required
  const IntelTrustAnchors* anchors = nullptr;       // null: the embedded Intel SGX Root CA
  absl::Time now;                                   // verification time
  std::optional<std::string> expected_report_data;  // REPORTDATA prefix, <= 64 bytes
  TdxVerifyOptions options;
};

// What a verified TDX quote says. Byte values are lowercase hex.
struct TdxClaims {
  uint16_t quote_version = 0;
  std::string mr_td;
  std::array<std::string, 4> rtmr;
  std::string mr_config_id;
  std::string mr_owner;
  std::string mr_owner_config;
  std::string td_attributes;
  bool debug = false;  // TDATTRIBUTES.DEBUG
  std::string xfam;
  std::string mr_seam;
  std::string mr_signer_seam;
  std::string seam_attributes;
  std::string tee_tcb_svn;
  std::string report_data;
  std::string fmspc;
  TcbStatus tcb_status = TcbStatus::kNotEvaluated;
  std::vector<std::string> advisory_ids;
  std::string tcb_date;
  std::optional<TcbStatus> tdx_module_status;
  TcbStatus qe_identity_status = TcbStatus::kNotEvaluated;
};

// Verifies an Intel TDX quote offline through named checks, in order: header, parse, pck_chain,
// qe_report_signature, qe_report_binding, quote_signature, collateral, tcb_status/tdx_module,
// qe_identity, report_data. Every rejection is "evidence check '<name>' failed: ...":
// INVALID_ARGUMENT for malformed input (header, parse), FAILED_PRECONDITION for required
// collateral that is missing, UNAUTHENTICATED for everything that is not genuine, current or
// supported (bad signatures, chains, expired or revoked items, TCB Revoked/TCB_NOT_SUPPORTED).
// Claims are returned only when every check passed.
absl::StatusOr<TdxClaims> VerifyTdxQuote(const TdxVerifyInput& input);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_TDX_VERIFIER_H_
