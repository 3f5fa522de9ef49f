#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_CLAIMS_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_CLAIMS_H_

#include "keybroker/verifiers/api/claims.h"
#include "keybroker/verifiers/azure/azure_snp_verifier.h"
#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"

namespace kb {

// Turns verified Azure vTPM claims into the generic Claims that policy sees (docs/policy.md
// lists every attribute name).

// evidence_type "az-snp-vtpm"; machine "azure-vm:<vm id>"; attributes snp.* and azure.*;
// pcrs["sha256"] from the vTPM quote.
Claims ClaimsFromAzureSnp(const AzureSnpVtpmClaims& az);

// evidence_type "az-tdx-vtpm"; machine "azure-vm:<vm id>"; attributes tdx.* (as
// ClaimsFromTdx(), from the TD quote) and azure.*; pcrs["sha256"] from the vTPM quote.
Claims ClaimsFromAzureTdx(const AzureTdxVtpmClaims& az);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_CLAIMS_H_
