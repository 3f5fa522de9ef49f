#ifndef KB_UNLOCKER_EVIDENCE_CHOOSE_EVIDENCE_H_
#define KB_UNLOCKER_EVIDENCE_CHOOSE_EVIDENCE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kb {

// What the machine offers, for choosing an evidence kind.
struct EvidenceProbes {
  // Whether the TPM holds an Azure HCL report (NV index 0x01400001). An error counts as no.
  std::function<absl::StatusOr<bool>()> azure_hcl_report;
  // Whether a path exists (/dev/sev-guest, the configfs-tsm report directory).
  std::function<bool(const std::string& path)> path_exists;
  std::string sev_guest_path;   // default kDefaultSevGuestPath
  std::string tsm_report_root;  // default kDefaultTsmReportRoot
  std::string tdx_guest_path;   // default /dev/tdx_guest (the TDX guest driver)
};

// The evidence kind for `--evidence` value `requested`: "tpm", "azure", "snp" or "tdx" as given,
// or for "auto" (and ""): "azure" when the TPM holds an HCL report, else "snp" when the SEV-SNP
// guest device exists, else "tdx" when the configfs-tsm report directory and the TDX guest
// device both exist (configfs-tsm alone also appears on machines without TDX), else "tpm".
// INVALID_ARGUMENT for any other value.
absl::StatusOr<std::string> ChooseEvidence(const std::string& requested,
                                           const EvidenceProbes& probes);

// The kind to open the TPM for in an unlock where each token decides its volume's kind
// (`requested` is --evidence, "auto" or ""): "tpm" when every token names "tpm", since their AK is
// then known and nothing needs probing (a TPM command and a second opening of the TPM fewer at
// boot); `requested` otherwise, for ChooseEvidence.
std::string KindToOpenFor(const std::string& requested,
                          const std::vector<std::string>& token_kinds);

// True if `path` exists (stat succeeds).
bool PathExists(const std::string& path);

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_CHOOSE_EVIDENCE_H_
