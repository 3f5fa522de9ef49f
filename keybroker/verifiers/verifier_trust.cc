#include "keybroker/verifiers/verifier_trust.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/snp/amd_roots.h"

namespace kb {
namespace {

absl::Status InField(absl::string_view field, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(field, ": ", s.message()));
}

absl::StatusOr<std::string> ReadOptional(absl::string_view field, const std::string& path) {
  if (path.empty()) return std::string();
  auto text = ReadFile(path);
  if (!text.ok()) return InField(field, text.status());
  return text;
}

}  // namespace

absl::StatusOr<tdx::IntelTrustAnchors> IntelAnchorsOf(const VerifierTrust& trust) {
  return tdx::IntelTrustAnchors::FromPem(trust.intel_roots_pem.empty()
                                             ? std::string(tdx::EmbeddedIntelSgxRootCaPem())
                                             : trust.intel_roots_pem,
                                         trust.intel_pinned_pem);
}

absl::StatusOr<CollateralTrust> CollateralTrustOf(const VerifierTrust& trust) {
  CollateralTrust out;
  out.amd_chain_pem = trust.amd_chain_pem;
  ASSIGN_OR_RETURN(out.intel, IntelAnchorsOf(trust));
  return out;
}

absl::StatusOr<VerifierTrust> LoadVerifierTrust(const v1::BrokerConfig& config) {
  VerifierTrust trust;
  ASSIGN_OR_RETURN(trust.amd_chain_pem, ReadOptional("amd_chain_file", config.amd_chain_file()));
  if (!trust.amd_chain_pem.empty()) {
    if (auto chain = ParseAmdChainPem(trust.amd_chain_pem); !chain.ok()) {
      return InField("amd_chain_file", chain.status());
    }
  }
  ASSIGN_OR_RETURN(trust.intel_roots_pem,
                   ReadOptional("intel_root_file", config.intel_root_file()));
  ASSIGN_OR_RETURN(trust.intel_pinned_pem, ReadOptional("intel_pinned_tcb_signing_file",
                                                        config.intel_pinned_tcb_signing_file()));
  if (auto anchors = IntelAnchorsOf(trust); !anchors.ok()) {
    return InField("intel_root_file/intel_pinned_tcb_signing_file", anchors.status());
  }
  if (!config.tdx_collateral_dir().empty()) {
    auto loaded = TdxCollateralCache::LoadDir(config.tdx_collateral_dir());
    if (!loaded.ok()) return InField("tdx_collateral_dir", loaded.status());
    LogInfo("TDX collateral: %d platform(s) from %s", static_cast<int>((*loaded)->platform_count()),
            config.tdx_collateral_dir());
    trust.tdx_collateral = std::move(*loaded);
  }
  return trust;
}

}  // namespace kb
