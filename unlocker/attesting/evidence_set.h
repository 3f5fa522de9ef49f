#ifndef KB_UNLOCKER_ATTESTING_EVIDENCE_SET_H_
#define KB_UNLOCKER_ATTESTING_EVIDENCE_SET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/evidence/evidence_source.h"
#include "unlocker/evidence/snp_report_source.h"

namespace kb {

// Where kbunlock finds each kind of evidence (command-line flags).
struct EvidenceConfig {
  std::string tcti = "device:/dev/tpmrm0";
  uint32_t tpm_ak_handle = 0x81000100;    // --ak-handle: the registered AK of kind "tpm"
  uint32_t azure_ak_handle = 0x81000003;  // --azure-ak-handle: the HCL AK
  std::string azure_vcek_file;            // --azure-vcek: VCEK (PEM/DER) to send; empty: none
  std::string sev_guest_path = "/dev/sev-guest";
  std::string tsm_report_root = "/sys/kernel/config/tsm/report";
  std::string tdx_guest_path = "/dev/tdx_guest";
  // Opens the SEV-SNP guest device at a path; null: the driver's (DevSevGuest::Open). The
  // composition root decides (a test binary links a software SEV-SNP firmware).
  std::function<absl::StatusOr<std::unique_ptr<SevGuestDevice>>(const std::string&)> open_sev_guest;
};

// The kind for --evidence `requested` on this machine (ChooseEvidence with real probes: the
// Azure HCL NV index through a short-lived TPM connection, device and configfs paths).
absl::StatusOr<std::string> DetectEvidence(const std::string& requested,
                                           const EvidenceConfig& config);

// The AK handle an EsysTpm should be opened with for evidence `kind`.
uint32_t AkHandleFor(const std::string& kind, const EvidenceConfig& config);

// The real evidence sources of kbunlock (composition root helper), made on first use over one
// EsysTpm whose AK is switched to the kind's AK as needed. Not thread-safe.
class EvidenceSet {
 public:
  // `tpm` was opened with AK `loaded_ak` and must outlive this.
  EvidenceSet(EsysTpm& tpm, uint32_t loaded_ak, EvidenceConfig config)
      : tpm_(&tpm), loaded_ak_(loaded_ak), config_(std::move(config)) {}
  // On a machine without a TPM (a bare SEV-SNP or TDX guest): only "snp" and "tdx" work; "tpm"
  // and "azure" fail with `no_tpm` (why opening the TPM failed).
  EvidenceSet(absl::Status no_tpm, EvidenceConfig config)
      : tpm_(nullptr),
        no_tpm_(no_tpm.ok() ? absl::FailedPreconditionError("no TPM on this machine")
                            : std::move(no_tpm)),
        loaded_ak_(0),
        config_(std::move(config)) {}

  // The source for `kind` ("tpm", "azure", "snp", "tdx"). INVALID_ARGUMENT for another kind;
  // UNAVAILABLE when its device is missing; TPM errors when the AK cannot be loaded (or the
  // no-TPM status for "tpm" and "azure" without a TPM).
  absl::StatusOr<EvidenceSource*> For(const std::string& kind);

  // For() as an EvidenceSourceFor; with `override_kind` non-empty every kind maps to it.
  EvidenceSourceFor AsFunction(std::string override_kind = "");

 private:
  absl::Status UseAk(uint32_t handle, bool create);
  absl::StatusOr<std::unique_ptr<EvidenceSource>> Make(const std::string& kind);

  EsysTpm* tpm_;         // null: no TPM on this machine
  absl::Status no_tpm_;  // why, when tpm_ is null
  uint32_t loaded_ak_;
  const EvidenceConfig config_;
  std::map<std::string, std::unique_ptr<EvidenceSource>> sources_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_ATTESTING_EVIDENCE_SET_H_
