#include "unlocker/attesting/attesting_tpm.h"

#include "absl/strings/str_cat.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/tpm/absent_tpm.h"

namespace kb {

bool RunsWithoutTpm(const std::string& kind, bool tokens_decide, const absl::Status& open_error) {
  if (!absl::IsUnavailable(open_error)) return false;  // a TPM is there but failed
  return kind == "snp" || kind == "tdx" || tokens_decide;
}

absl::StatusOr<AttestingTpm> OpenAttestingTpm(const std::string& requested, bool tokens_decide,
                                              const EvidenceConfig& config,
                                              const std::function<void(const std::string&)>& say) {
  auto kind = DetectEvidence(requested, config);
  if (!kind.ok()) {
    return WithExitCode(absl::InvalidArgumentError(kind.status().message()), ExitCode::kUsage);
  }
  EsysTpmOptions options;
  options.tcti = config.tcti;
  options.ak_handle = AkHandleFor(*kind, config);
  options.create_ak = *kind != "azure";  // the HCL AK is Azure's; a stand-in would be a leftover
  auto tpm = EsysTpm::Create(options);
  AttestingTpm out;
  out.kind = *kind;
  if (tpm.ok()) {
    out.tpm = std::move(*tpm);
    out.evidence = std::make_unique<EvidenceSet>(*out.tpm, options.ak_handle, config);
    return out;
  }
  if (*kind == "azure" && absl::IsFailedPrecondition(tpm.status())) {
    return WithExitCode(absl::FailedPreconditionError(absl::StrCat(
                            tpm.status().message(),
                            ": this vTPM has no Azure HCL attestation key (is this an Azure "
                            "confidential VM? elsewhere use --evidence tpm)")),
                        ExitCode::kUsage);
  }
  if (!RunsWithoutTpm(*kind, tokens_decide, tpm.status())) {
    return WithExitCode(tpm.status(), ExitCode::kTpmUnavailable);
  }
  const bool tee_kind = *kind == "snp" || *kind == "tdx";
  say(absl::StrCat("no TPM on this machine (", tpm.status().message(), "): ",
                   tee_kind ? absl::StrCat("attesting with ", *kind, " evidence only")
                            : "only volumes enrolled with snp or tdx evidence can be unlocked",
                   "; offline grace needs a vTPM and is unavailable"));
  out.absent = std::make_unique<AbsentTpm>();
  out.evidence = std::make_unique<EvidenceSet>(tpm.status(), config);
  return out;
}

}  // namespace kb
