#include "unlocker/attesting/evidence_set.h"

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "unlocker/evidence/azure_imds.h"
#include "unlocker/evidence/azure_vtpm_source.h"
#include "unlocker/evidence/choose_evidence.h"
#include "unlocker/evidence/snp_report_source.h"
#include "unlocker/evidence/tdx_quote_source.h"
#include "unlocker/evidence/tpm_quote_source.h"

namespace kb {

absl::StatusOr<std::string> DetectEvidence(const std::string& requested,
                                           const EvidenceConfig& config) {
  EvidenceProbes probes;
  probes.azure_hcl_report = [&config] {
    return EsysNvIndexDefined(config.tcti, kAzureHclReportIndex);
  };
  probes.path_exists = PathExists;
  probes.sev_guest_path = config.sev_guest_path;
  probes.tsm_report_root = config.tsm_report_root;
  probes.tdx_guest_path = config.tdx_guest_path;
  return ChooseEvidence(requested, probes);
}

uint32_t AkHandleFor(const std::string& kind, const EvidenceConfig& config) {
  return kind == "azure" ? config.azure_ak_handle : config.tpm_ak_handle;
}

absl::Status EvidenceSet::UseAk(uint32_t handle, bool create) {
  if (tpm_ == nullptr) return no_tpm_;
  if (handle == loaded_ak_) return absl::OkStatus();
  RETURN_IF_ERROR(tpm_->UseAttestationKey(handle, create));
  loaded_ak_ = handle;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EvidenceSource>> EvidenceSet::Make(const std::string& kind) {
  if ((kind == "tpm" || kind == "azure") && tpm_ == nullptr) return no_tpm_;
  if (kind == "tpm") return std::unique_ptr<EvidenceSource>(new TpmQuoteSource(*tpm_));
  if (kind == "azure") {
    AzureVtpmOptions options;
    if (!config_.azure_vcek_file.empty()) {
      const std::string path = config_.azure_vcek_file;
      options.vcek = [path] { return ReadFile(path); };
    } else {
      options.vcek = [] { return FetchAzureVcek(); };  // IMDS THIM
    }
    options.td_quote = [](absl::string_view td_report) {  // TDX: IMDS /acc/tdquote
      return FetchAzureTdQuote(td_report);
    };
    return std::unique_ptr<EvidenceSource>(new AzureVtpmSource(*tpm_, *tpm_, std::move(options)));
  }
  if (kind == "snp") {
    std::unique_ptr<SevGuestDevice> device;
    if (config_.open_sev_guest) {
      ASSIGN_OR_RETURN(device, config_.open_sev_guest(config_.sev_guest_path));
    } else {
      ASSIGN_OR_RETURN(device, DevSevGuest::Open(config_.sev_guest_path));
    }
    return std::unique_ptr<EvidenceSource>(new SnpReportSource(std::move(device)));
  }
  if (kind == "tdx") {
    return std::unique_ptr<EvidenceSource>(
        new TdxQuoteSource(std::make_unique<PosixTsmReportFs>(), config_.tsm_report_root));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown evidence kind '", kind, "' (tpm, azure, snp, tdx)"));
}

absl::StatusOr<EvidenceSource*> EvidenceSet::For(const std::string& kind) {
  // Quotes and certifications come from the kind's AK: the registered one, or Azure's HCL AK.
  if (kind == "tpm") RETURN_IF_ERROR(UseAk(config_.tpm_ak_handle, /*create=*/true));
  if (kind == "azure") RETURN_IF_ERROR(UseAk(config_.azure_ak_handle, /*create=*/false));
  auto it = sources_.find(kind);
  if (it != sources_.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::unique_ptr<EvidenceSource> source, Make(kind));
  EvidenceSource* raw = source.get();
  sources_[kind] = std::move(source);
  return raw;
}

EvidenceSourceFor EvidenceSet::AsFunction(std::string override_kind) {
  return [this, override_kind](const std::string& kind) {
    return For(override_kind.empty() ? kind : override_kind);
  };
}

}  // namespace kb
