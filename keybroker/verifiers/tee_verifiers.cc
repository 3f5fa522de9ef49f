#include "keybroker/verifiers/tee_verifiers.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/snp/snp_evidence_verifier.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"

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

absl::StatusOr<tdx::IntelTrustAnchors> LoadIntelAnchors(const v1::BrokerConfig& config) {
  ASSIGN_OR_RETURN(std::string roots, ReadOptional("intel_root_file", config.intel_root_file()));
  ASSIGN_OR_RETURN(std::string pins, ReadOptional("intel_pinned_tcb_signing_file",
                                                  config.intel_pinned_tcb_signing_file()));
  if (roots.empty()) roots = std::string(tdx::EmbeddedIntelSgxRootCaPem());
  auto anchors = tdx::IntelTrustAnchors::FromPem(roots, pins);
  if (!anchors.ok()) {
    return InField("intel_root_file/intel_pinned_tcb_signing_file", anchors.status());
  }
  return anchors;
}

}  // namespace

absl::StatusOr<CollateralTrust> LoadCollateralTrust(const v1::BrokerConfig& config) {
  CollateralTrust trust;
  ASSIGN_OR_RETURN(trust.amd_chain_pem, ReadOptional("amd_chain_file", config.amd_chain_file()));
  ASSIGN_OR_RETURN(trust.intel, LoadIntelAnchors(config));
  return trust;
}

absl::Status AddTeeVerifiers(const v1::BrokerConfig& config, const Clock* clock, VerifierSet& set,
                             CollateralSource* cache) {
  ASSIGN_OR_RETURN(std::string amd_chain, ReadOptional("amd_chain_file", config.amd_chain_file()));
  if (!amd_chain.empty()) {
    if (auto chain = ParseAmdChainPem(amd_chain); !chain.ok()) {
      return InField("amd_chain_file", chain.status());
    }
  }
  ASSIGN_OR_RETURN(tdx::IntelTrustAnchors anchors, LoadIntelAnchors(config));
  std::shared_ptr<const TdxCollateralCache> collateral;  // shared with the Azure TDX path
  if (!config.tdx_collateral_dir().empty()) {
    auto loaded = TdxCollateralCache::LoadDir(config.tdx_collateral_dir());
    if (!loaded.ok()) return InField("tdx_collateral_dir", loaded.status());
    LogInfo("TDX collateral: %d platform(s) from %s", static_cast<int>((*loaded)->platform_count()),
            config.tdx_collateral_dir());
    collateral = std::move(*loaded);
  }
  set.Add(v1::Evidence::kSnpReport, std::make_unique<SnpEvidenceVerifier>(amd_chain, clock, cache));
  AzureTdxTrust azure_tdx;
  ASSIGN_OR_RETURN(azure_tdx.anchors, LoadIntelAnchors(config));
  azure_tdx.collateral = collateral;
  azure_tdx.cache = cache;
  set.Add(v1::Evidence::kTdxQuote, std::make_unique<TdxEvidenceVerifier>(
                                       std::move(anchors), std::move(collateral), clock, cache));
  set.Add(v1::Evidence::kAzureVtpm,
          std::make_unique<AzureVtpmEvidenceVerifier>(amd_chain, std::move(azure_tdx), clock));
  return absl::OkStatus();
}

}  // namespace kb
