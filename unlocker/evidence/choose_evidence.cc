#include "unlocker/evidence/choose_evidence.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace kb {

std::string KindToOpenFor(const std::string& requested,
                          const std::vector<std::string>& token_kinds) {
  if (requested != "auto" && !requested.empty()) return requested;
  if (token_kinds.empty()) return requested;
  for (const std::string& kind : token_kinds) {
    if (kind != "tpm") return requested;
  }
  return "tpm";
}

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> ChooseEvidence(const std::string& requested,
                                           const EvidenceProbes& probes) {
  if (requested == "tpm" || requested == "azure" || requested == "snp" || requested == "tdx") {
    return requested;
  }
  if (requested != "auto" && !requested.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown evidence kind '", requested, "' (auto, tpm, azure, snp, tdx)"));
  }
  if (probes.azure_hcl_report) {
    absl::StatusOr<bool> azure = probes.azure_hcl_report();
    if (azure.ok() && *azure) return std::string("azure");
  }
  if (probes.path_exists && probes.path_exists(probes.sev_guest_path)) return std::string("snp");
  if (probes.path_exists && probes.path_exists(probes.tsm_report_root) &&
      probes.path_exists(probes.tdx_guest_path)) {
    return std::string("tdx");
  }
  return std::string("tpm");
}

}  // namespace kb
