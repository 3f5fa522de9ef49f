#include "unlocker/evidence/azure_vtpm_source.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {

v1::AzureVtpmKind AzureKindOfHclReport(absl::string_view hcl_report) {
  constexpr size_t kReportTypeOffset = 0x4C8;  // IGVM_REQUEST_DATA.ReportType
  if (hcl_report.size() < kReportTypeOffset + 4) return v1::AZURE_VTPM_KIND_SNP;
  const auto* p = reinterpret_cast<const unsigned char*>(hcl_report.data() + kReportTypeOffset);
  const uint32_t type = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
  return type == 4 ? v1::AZURE_VTPM_KIND_TDX : v1::AZURE_VTPM_KIND_SNP;
}

absl::StatusOr<std::string> TdReportOfHclReport(absl::string_view hcl_report) {
  constexpr size_t kTdReportOffset = 0x20, kTdReportSize = 1024;
  if (hcl_report.size() < kTdReportOffset + kTdReportSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("HCL report (", hcl_report.size(), " bytes) is too short to hold a TDREPORT"));
  }
  return std::string(hcl_report.substr(kTdReportOffset, kTdReportSize));
}

absl::Status WriteAzureUserData(TpmNv& nv, absl::string_view user_data) {
  if (user_data.size() > kAzureUserDataSize) {
    return absl::InvalidArgumentError("Azure HCL user data is at most 64 bytes");
  }
  ASSIGN_OR_RETURN(bool defined, nv.NvDefined(kAzureUserDataIndex));
  if (!defined) RETURN_IF_ERROR(nv.NvDefine(kAzureUserDataIndex, kAzureUserDataSize));
  std::string padded(user_data);
  padded.resize(kAzureUserDataSize, '\0');
  return nv.NvWrite(kAzureUserDataIndex, padded);
}

absl::StatusOr<std::string> AzureVtpmSource::NewTransferKey(TransferKeyType type) {
  return tpm_.CreateTransferKey(type);
}

absl::StatusOr<AttestedTransferKey> AzureVtpmSource::Attest(absl::string_view binding,
                                                            const std::vector<uint32_t>& pcrs) {
  // Nothing is written to a vTPM that is not Azure's (no user-data index left behind).
  ASSIGN_OR_RETURN(bool azure, nv_.NvDefined(kAzureHclReportIndex));
  if (!azure) {
    return absl::FailedPreconditionError(
        "this vTPM has no Azure HCL report (NV index 0x01400001): not an Azure confidential VM; "
        "elsewhere use --evidence tpm");
  }
  // Order matters: the HCL report reflects the user data only after the write.
  RETURN_IF_ERROR(WriteAzureUserData(nv_, binding));
  if (options_.after_user_data_write) {
    std::string padded(binding);
    padded.resize(kAzureUserDataSize, '\0');
    RETURN_IF_ERROR(options_.after_user_data_write(padded));
  }
  AttestedTransferKey out;
  v1::AzureVtpmEvidence* az = out.evidence.mutable_azure_vtpm();
  ASSIGN_OR_RETURN(*az->mutable_hcl_report(), nv_.NvRead(kAzureHclReportIndex));
  az->set_kind(AzureKindOfHclReport(az->hcl_report()));
  ASSIGN_OR_RETURN(*out.transfer_key.mutable_tpm(), tpm_.CertifyTransferKey(binding));
  ASSIGN_OR_RETURN(*az->mutable_quote(), tpm_.Quote(binding, pcrs));
  if (az->kind() == v1::AZURE_VTPM_KIND_TDX) {
    if (options_.td_quote) {
      ASSIGN_OR_RETURN(std::string td_report, TdReportOfHclReport(az->hcl_report()));
      ASSIGN_OR_RETURN(*az->mutable_td_quote(), options_.td_quote(td_report));
    }
  } else if (options_.vcek) {
    ASSIGN_OR_RETURN(*az->mutable_vcek(), options_.vcek());
  }
  return out;
}

absl::StatusOr<SecretBytes> AzureVtpmSource::Unwrap(const v1::WrappedKey& wrapped) {
  return tpm_.Unwrap(wrapped);
}

}  // namespace kb
