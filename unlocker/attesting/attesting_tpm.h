#ifndef KB_UNLOCKER_ATTESTING_ATTESTING_TPM_H_
#define KB_UNLOCKER_ATTESTING_ATTESTING_TPM_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "unlocker/attesting/evidence_set.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// The TPM kbunlock attests with (opened with the AK of the evidence kind) and the evidence
// sources over it; or, on a bare SEV-SNP or TDX guest without a vTPM, no TPM: an AbsentTpm for
// the flows and an EvidenceSet that offers the TEE kinds only.
struct AttestingTpm {
  std::string kind;                       // the kind --evidence names or auto-detection found
  std::unique_ptr<EsysTpm> tpm;           // null when the machine has no TPM
  std::unique_ptr<Tpm> absent;            // the AbsentTpm then
  std::unique_ptr<EvidenceSet> evidence;  // never null

  // The Tpm the flows get: the real one, or the AbsentTpm (no offline grace).
  Tpm& flow_tpm() { return tpm ? *tpm : *absent; }
};

// Whether kbunlock goes on without a TPM after opening one failed with `open_error`: only when
// no TPM was reachable (UNAVAILABLE: the TCTI failed, no /dev/tpmrm0) and the evidence needs
// none: `kind` is "snp" or "tdx", or `tokens_decide` (an unlock without --evidence, where each
// token's recorded kind is used and tokens of kind "tpm" or "azure" then fail with
// `open_error`).
bool RunsWithoutTpm(const std::string& kind, bool tokens_decide, const absl::Status& open_error);

// Chooses the evidence kind for --evidence `requested` (DetectEvidence) and opens the TPM at
// config.tcti with that kind's AK. Without a TPM, when RunsWithoutTpm says so, reports that
// through `say` (one line: which TPM is missing, that offline grace needs one) and returns an
// AttestingTpm without one. Errors carry exit codes: kUsage for an unknown kind,
// kTpmUnavailable when the TPM cannot be opened and is needed.
absl::StatusOr<AttestingTpm> OpenAttestingTpm(const std::string& requested, bool tokens_decide,
                                              const EvidenceConfig& config,
                                              const std::function<void(const std::string&)>& say);

}  // namespace kb

#endif  // KB_UNLOCKER_ATTESTING_ATTESTING_TPM_H_
