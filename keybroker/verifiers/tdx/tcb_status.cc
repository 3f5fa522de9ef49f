#include "keybroker/verifiers/tdx/tcb_status.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/checks.h"

namespace kb {
namespace tdx {
namespace {

using absl::StatusCode;

constexpr std::array<std::pair<TcbStatus, absl::string_view>, 9> kNames = {{
    {TcbStatus::kUpToDate, "UpToDate"},
    {TcbStatus::kSwHardeningNeeded, "SWHardeningNeeded"},
    {TcbStatus::kConfigurationNeeded, "ConfigurationNeeded"},
    {TcbStatus::kConfigurationAndSwHardeningNeeded, "ConfigurationAndSWHardeningNeeded"},
    {TcbStatus::kOutOfDate, "OutOfDate"},
    {TcbStatus::kOutOfDateConfigurationNeeded, "OutOfDateConfigurationNeeded"},
    {TcbStatus::kRevoked, "Revoked"},
    {TcbStatus::kTcbNotSupported, "TCB_NOT_SUPPORTED"},
    {TcbStatus::kNotEvaluated, "NotEvaluated"},
}};

absl::StatusOr<TcbStatus> LevelStatus(absl::string_view check, absl::string_view name) {
  auto s = ParseTcbStatus(name);
  if (!s.ok()) return CheckFailed(check, StatusCode::kUnauthenticated, s.status().message());
  return *s;
}

bool SgxComponentsOk(const PckCertInfo& pck, const TcbLevel& level) {
  for (std::size_t i = 0; i < 16; ++i) {
    if (pck.comp_svn[i] < level.sgx_components[i]) return false;
  }
  return pck.pce_svn >= level.pce_svn;
}

bool TdxComponentsOk(absl::string_view tee_tcb_svn, int start, const TcbLevel& level) {
  for (std::size_t i = static_cast<std::size_t>(start); i < 16; ++i) {
    if (static_cast<uint8_t>(tee_tcb_svn[i]) < level.tdx_components[i]) return false;
  }
  return true;
}

bool MaskedEqual(absl::string_view a, absl::string_view b, absl::string_view mask) {
  if (a.size() != b.size() || a.size() != mask.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] & mask[i]) != (b[i] & mask[i])) return false;
  }
  return true;
}

absl::Status CheckModuleIdentity(const TdReportBody& body, const TdxModuleIdentity& m) {
  if (body.mr_signer_seam != m.mr_signer) {
    return CheckFailed(kCheckTdxModule, StatusCode::kUnauthenticated,
                       "MRSIGNERSEAM does not match the tcbInfo TDX module mrsigner");
  }
  if (!MaskedEqual(body.seam_attributes, m.attributes, m.attributes_mask)) {
    return CheckFailed(kCheckTdxModule, StatusCode::kUnauthenticated,
                       "SEAMATTRIBUTES do not match the tcbInfo TDX module attributes");
  }
  return absl::OkStatus();
}

// The module's TCB level for TEE_TCB_SVN[1] > 0; kTcbNotSupported if none matches.
absl::StatusOr<ModuleTcbLevel> MatchModule(const TdReportBody& body, const TcbInfo& info) {
  const uint8_t isv_svn = static_cast<uint8_t>(body.tee_tcb_svn[0]);
  const std::string id = absl::StrFormat("TDX_%02X", static_cast<uint8_t>(body.tee_tcb_svn[1]));
  for (const TdxModuleIdentity& m : info.tdx_module_identities) {
    if (m.id != id) continue;
    RETURN_IF_ERROR(CheckModuleIdentity(body, m));
    for (const ModuleTcbLevel& level : m.levels) {
      if (isv_svn >= level.isv_svn) return level;
    }
    ModuleTcbLevel none;
    none.status = "TCB_NOT_SUPPORTED";
    return none;
  }
  return CheckFailed(kCheckTdxModule, StatusCode::kUnauthenticated,
                     absl::StrCat("tcbInfo has no TDX module identity ", id));
}

absl::Status ApplyModule(const TdReportBody& body, const TcbInfo& info, TcbEvaluation& eval) {
  ASSIGN_OR_RETURN(ModuleTcbLevel level, MatchModule(body, info));
  ASSIGN_OR_RETURN(TcbStatus module, LevelStatus(kCheckTdxModule, level.status));
  eval.module_status = module;
  eval.status = ConvergeTcbStatus(eval.status, module);
  for (const std::string& id : level.advisory_ids) {
    if (std::find(eval.advisory_ids.begin(), eval.advisory_ids.end(), id) ==
        eval.advisory_ids.end()) {
      eval.advisory_ids.push_back(id);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view TcbStatusName(TcbStatus status) {
  for (const auto& [s, name] : kNames) {
    if (s == status) return name;
  }
  return "Unknown";
}

absl::StatusOr<TcbStatus> ParseTcbStatus(absl::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (n == name && s != TcbStatus::kNotEvaluated) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown TCB status \"", name, "\""));
}

absl::StatusOr<TcbEvaluation> EvaluateTdxTcb(const TdReportBody& body, const PckCertInfo& pck,
                                             const TcbInfo& info) {
  if (pck.fmspc != info.fmspc || pck.pce_id != info.pce_id) {
    return CheckFailed(
        kCheckTcbStatus, StatusCode::kUnauthenticated,
        absl::StrCat("PCK FMSPC/PCE-ID ", HexEncode(pck.fmspc), "/", HexEncode(pck.pce_id),
                     " do not match tcbInfo ", HexEncode(info.fmspc), "/", HexEncode(info.pce_id)));
  }
  const bool module_versioned = static_cast<uint8_t>(body.tee_tcb_svn[1]) > 0;
  if (!module_versioned) RETURN_IF_ERROR(CheckModuleIdentity(body, info.tdx_module));
  TcbEvaluation eval;
  eval.tdx_compare_start = module_versioned ? 2 : 0;
  const TcbLevel* match = nullptr;
  for (const TcbLevel& level : info.levels) {
    if (SgxComponentsOk(pck, level) &&
        TdxComponentsOk(body.tee_tcb_svn, eval.tdx_compare_start, level)) {
      match = &level;
      break;
    }
  }
  if (match == nullptr) {
    eval.status = TcbStatus::kTcbNotSupported;
    return eval;
  }
  ASSIGN_OR_RETURN(eval.status, LevelStatus(kCheckTcbStatus, match->status));
  eval.tcb_date = match->tcb_date;
  eval.advisory_ids = match->advisory_ids;
  if (module_versioned) RETURN_IF_ERROR(ApplyModule(body, info, eval));
  return eval;
}

TcbStatus ConvergeTcbStatus(TcbStatus platform, TcbStatus module) {
  if (module == TcbStatus::kRevoked || platform == TcbStatus::kRevoked) return TcbStatus::kRevoked;
  if (module == TcbStatus::kTcbNotSupported) return TcbStatus::kTcbNotSupported;
  if (module != TcbStatus::kOutOfDate) return platform;
  switch (platform) {
    case TcbStatus::kUpToDate:
    case TcbStatus::kSwHardeningNeeded:
      return TcbStatus::kOutOfDate;
    case TcbStatus::kConfigurationNeeded:
    case TcbStatus::kConfigurationAndSwHardeningNeeded:
      return TcbStatus::kOutOfDateConfigurationNeeded;
    default:
      return platform;
  }
}

absl::StatusOr<QeIdentityEvaluation> EvaluateQeIdentity(const SgxReportBody& qe,
                                                        const QeIdentity& identity) {
  auto fail = [](absl::string_view detail) {
    return CheckFailed(kCheckQeIdentity, StatusCode::kUnauthenticated, detail);
  };
  if (qe.mr_signer != identity.mr_signer) return fail("QE MRSIGNER does not match");
  if (qe.isv_prod_id != identity.isv_prod_id) return fail("QE ISVPRODID does not match");
  if ((qe.misc_select & identity.misc_select_mask) !=
      (identity.misc_select & identity.misc_select_mask)) {
    return fail("QE MISCSELECT does not match under the mask");
  }
  if (!MaskedEqual(qe.attributes, identity.attributes, identity.attributes_mask)) {
    return fail("QE ATTRIBUTES do not match under the mask");
  }
  for (const QeTcbLevel& level : identity.levels) {
    if (qe.isv_svn < level.isv_svn) continue;
    QeIdentityEvaluation eval;
    ASSIGN_OR_RETURN(eval.status, LevelStatus(kCheckQeIdentity, level.status));
    eval.tcb_date = level.tcb_date;
    eval.advisory_ids = level.advisory_ids;
    return eval;
  }
  return fail(absl::StrCat("QE ISVSVN ", qe.isv_svn, " is below every TD_QE TCB level"));
}

}  // namespace tdx
}  // namespace kb
