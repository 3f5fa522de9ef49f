#include "keybroker/verifiers/azure/azure_snp_verifier.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace {

using absl::StatusCode;

absl::StatusOr<HclReport> CheckHclParse(absl::string_view bytes) {
  auto hcl = ParseHclReport(bytes);
  if (!hcl.ok()) {
    return CheckFailed(kAzCheckHclParse, StatusCode::kInvalidArgument, hcl.status().message());
  }
  // REPORT_DATA is read here only to bind the runtime data; the SNP checks verify it next.
  auto report = ParseSnpReport(hcl->hw_report);
  if (!report.ok()) {
    return CheckFailed(kAzCheckHclParse, StatusCode::kInvalidArgument, report.status().message());
  }
  RETURN_IF_ERROR(CheckRuntimeDataDigest(*hcl, report->report_data));
  return hcl;
}

}  // namespace

absl::Status CheckAzureVmpl(const SnpClaims& snp) {
  if (snp.vmpl != 0) {
    return CheckFailed(kAzCheckVmpl, StatusCode::kUnauthenticated,
                       absl::StrCat("SNP report is from VMPL ", snp.vmpl,
                                    "; the Azure HCL (paravisor) reports from VMPL 0"));
  }
  return absl::OkStatus();
}

absl::StatusOr<AzureSnpVtpmClaims> VerifyAzureSnpVtpm(const AzureSnpVtpmInput& input,
                                                      SnpKeyCertCache* key_certs) {
  ASSIGN_OR_RETURN(HclReport hcl, CheckHclParse(input.hcl_report));
  SnpVerifyInput snp_input;
  snp_input.report = hcl.hw_report;
  snp_input.vcek = input.vcek;
  snp_input.chain_pem = input.chain_pem;
  snp_input.verify_time = input.verify_time;
  AzureSnpVtpmClaims claims;
  ASSIGN_OR_RETURN(claims.snp, VerifySnpReport(snp_input, key_certs));
  RETURN_IF_ERROR(CheckAzureVmpl(claims.snp));
  RETURN_IF_ERROR(VerifyRuntimeClaimsAndQuote(hcl.runtime_data, input.expected_user_data,
                                              input.quote, input.expected_nonce, claims));
  return claims;
}

}  // namespace kb
