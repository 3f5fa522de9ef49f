#ifndef KB_UNLOCKER_EVIDENCE_AZURE_VTPM_SOURCE_H_
#define KB_UNLOCKER_EVIDENCE_AZURE_VTPM_SOURCE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/evidence/evidence_source.h"
#include "unlocker/tpm/tpm.h"
#include "unlocker/tpm/tpm_nv.h"

namespace kb {

// Azure confidential VM vTPM conventions (azure-cvm-tooling az-cvm-vtpm).
inline constexpr uint32_t kAzureHclReportIndex = 0x01400001;  // HCL report (read)
inline constexpr uint32_t kAzureUserDataIndex = 0x01400002;   // report user data (written)
inline constexpr uint16_t kAzureUserDataSize = 64;
inline constexpr uint32_t kAzureAkHandle = 0x81000003;  // the HCL-attested AK ("HCLAkPub")

struct AzureVtpmOptions {
  // Called after the user data was written and before the HCL report is read. On Azure the
  // paravisor regenerates the report on that write; a test produces the report for
  // `user_data` here. Null: nothing.
  std::function<absl::Status(absl::string_view user_data)> after_user_data_write;
  // SEV-SNP: the VCEK that signed the HCL report's SNP report (DER or PEM, or a VCEK+ASK+ARK
  // bundle). Null: the evidence carries no VCEK (a broker then refuses it).
  std::function<absl::StatusOr<std::string>()> vcek;
  // TDX: the TD quote for the HCL report's 1024-byte TDREPORT (on Azure, FetchAzureTdQuote:
  // IMDS /acc/tdquote). Null: the evidence carries no TD quote (a broker then refuses it).
  std::function<absl::StatusOr<std::string>(absl::string_view td_report)> td_quote;
};

// Writes `user_data` (zero-padded to 64 bytes) to kAzureUserDataIndex, defining the index first
// (64 bytes, empty auth) if absent, as Azure guests do. INVALID_ARGUMENT for more than 64
// bytes; TPM errors as TpmNv reports them.
absl::Status WriteAzureUserData(TpmNv& nv, absl::string_view user_data);

// The kind of an HCL report by its IGVM report type (4: TDX; anything else, including a report
// too short to say, is left to the broker as SNP).
v1::AzureVtpmKind AzureKindOfHclReport(absl::string_view hcl_report);

// The 1024-byte TDREPORT at offset 0x20 of a TDX HCL report. INVALID_ARGUMENT if the report is
// too short to hold one.
absl::StatusOr<std::string> TdReportOfHclReport(absl::string_view hcl_report);

// Evidence kind "azure" (az-snp-vtpm or az-tdx-vtpm, by the HCL report's type): the binding as
// HCL report user data, the HCL report from NV index 0x01400001, a quote by the HCL AK (the Tpm
// must be opened with that AK, by default persistent handle 0x81000003) with extraData =
// binding, a TPM transfer key certified by the AK, and the VCEK (SNP) or the TD quote of the
// report's TDREPORT (TDX). Not thread-safe.
class AzureVtpmSource final : public EvidenceSource {
 public:
  // `tpm` and `nv` (usually the same EsysTpm) must outlive this.
  AzureVtpmSource(Tpm& tpm, TpmNv& nv, AzureVtpmOptions options)
      : tpm_(tpm), nv_(nv), options_(std::move(options)) {}

  absl::string_view Name() const override { return "Azure vTPM"; }
  absl::StatusOr<std::string> NewTransferKey(TransferKeyType type) override;
  absl::StatusOr<AttestedTransferKey> Attest(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;

 private:
  Tpm& tpm_;
  TpmNv& nv_;
  AzureVtpmOptions options_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_AZURE_VTPM_SOURCE_H_
