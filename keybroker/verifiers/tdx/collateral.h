#ifndef KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_H_
#define KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {
namespace tdx {

// Intel PCS v4 collateral for TDX: tcbInfo (id "TDX", version 3) and the TD_QE identity.
// Byte-valued fields hold decoded bytes, not hex.

inline constexpr std::size_t kMaxCollateralJsonSize = 1 << 20;

struct TcbLevel {
  std::array<uint8_t, 16> sgx_components{};
  uint16_t pce_svn = 0;
  std::array<uint8_t, 16> tdx_components{};
  std::string tcb_date;
  std::string status;  // "UpToDate", "OutOfDate", ...
  std::vector<std::string> advisory_ids;
};

struct ModuleTcbLevel {
  uint8_t isv_svn = 0;
  std::string tcb_date;
  std::string status;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;               // "TDX_01"; empty for the top-level tdxModule
  std::string mr_signer;        // 48
  std::string attributes;       // 8
  std::string attributes_mask;  // 8
  std::vector<ModuleTcbLevel> levels;
};

struct TcbInfo {
  std::string signed_text;  // exact JSON text of the "tcbInfo" value
  std::string signature;    // 64 bytes r||s
  std::string id;
  int version = 0;
  absl::Time issue_date;
  absl::Time next_update;
  std::string fmspc;   // 6
  std::string pce_id;  // 2
  int tcb_evaluation_data_number = 0;
  TdxModuleIdentity tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;
};

struct QeTcbLevel {
  uint16_t isv_svn = 0;
  std::string tcb_date;
  std::string status;
  std::vector<std::string> advisory_ids;
};

struct QeIdentity {
  std::string signed_text;  // exact JSON text of the "enclaveIdentity" value
  std::string signature;    // 64 bytes r||s
  std::string id;           // "TD_QE"
  int version = 0;
  absl::Time issue_date;
  absl::Time next_update;
  int tcb_evaluation_data_number = 0;
  uint32_t misc_select = 0;
  uint32_t misc_select_mask = 0;
  std::string attributes;       // 16
  std::string attributes_mask;  // 16
  std::string mr_signer;        // 32
  uint16_t isv_prod_id = 0;
  std::vector<QeTcbLevel> levels;
};

// Parses a PCS tcbInfo response {"tcbInfo":{...},"signature":"<hex>"}. The document must be
// strict JSON; the signature is NOT verified here. INVALID_ARGUMENT naming the field for
// anything missing or malformed, or if it is not a TDX tcbInfo (id "TDX", version 3).
absl::StatusOr<TcbInfo> ParseTcbInfo(absl::string_view json);

// Parses a PCS enclave identity response {"enclaveIdentity":{...},"signature":"<hex>"}.
// INVALID_ARGUMENT as above, or if it is not the TD_QE identity (version 2).
absl::StatusOr<QeIdentity> ParseQeIdentity(absl::string_view json);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_H_
