#include "keybroker/verifiers/azure/azure_claims.h"

#include "absl/strings/str_cat.h"
#include "keybroker/verifiers/api/evidence_types.h"
#include "keybroker/verifiers/snp/snp_claims.h"
#include "keybroker/verifiers/tdx/tdx_claims.h"

namespace kb {
namespace {

// The azure.* attributes, machine and PCRs shared by both Azure vTPM evidence kinds.
template <typename AzureClaims>
void AddAzure(const AzureClaims& az, Claims& c) {
  c.machine = absl::StrCat("azure-vm:", az.vm_unique_id);
  c.attributes["azure.vm_id"] = az.vm_unique_id;
  c.attributes["azure.secure_boot"] = ClaimFlag(az.secure_boot);
  c.attributes["azure.tpm_enabled"] = ClaimFlag(az.tpm_enabled);
  c.attributes["azure.console_enabled"] = ClaimFlag(az.console_enabled);
  c.attributes["azure.user_data"] = az.user_data;
  c.attributes["azure.quote_nonce"] = az.quote_nonce;
  for (const auto& [index, value] : az.pcrs) c.pcrs["sha256"][index] = value;
}

}  // namespace

Claims ClaimsFromAzureSnp(const AzureSnpVtpmClaims& az) {
  Claims c;
  c.evidence_type = std::string(kEvidenceAzureSnp);
  AddSnpAttributes(az.snp, c);
  AddAzure(az, c);
  return c;
}

Claims ClaimsFromAzureTdx(const AzureTdxVtpmClaims& az) {
  Claims c = ClaimsFromTdx(az.tdx);
  c.evidence_type = std::string(kEvidenceAzureTdx);
  AddAzure(az, c);
  return c;
}

}  // namespace kb
