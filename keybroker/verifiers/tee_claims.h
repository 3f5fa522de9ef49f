#ifndef KB_KEYBROKER_VERIFIERS_TEE_CLAIMS_H_
#define KB_KEYBROKER_VERIFIERS_TEE_CLAIMS_H_

#include <string>

#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "keybroker/verifiers/azure/azure_snp_verifier.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"

namespace kb {

// Turns verified TEE claims into the generic Claims that policy sees (docs/policy.md lists
// every attribute name). Values are strings: lowercase hex for bytes, decimal for numbers,
// "true"/"false" for flags. Used by the broker's verifiers and by `keybrokerctl
// verify-evidence`, so both print the same names.

// evidence_type "snp"; machine "snp-chip:<chip_id hex>"; attributes snp.*.
Claims ClaimsFromSnp(const SnpClaims& snp);

// evidence_type "tdx"; machine "tdx-fmspc:<fmspc>" (a platform type, not one host);
// attributes tdx.*.
Claims ClaimsFromTdx(const tdx::TdxClaims& tdx);

// evidence_type "az-snp-vtpm"; machine "azure-vm:<vm id>"; attributes snp.* and azure.*;
// pcrs["sha256"] from the vTPM quote.
Claims ClaimsFromAzureSnp(const AzureSnpVtpmClaims& az);

// evidence_type "az-tdx-vtpm"; machine "azure-vm:<vm id>"; attributes tdx.* (as
// ClaimsFromTdx(), from the TD quote) and azure.*; pcrs["sha256"] from the vTPM quote.
Claims ClaimsFromAzureTdx(const AzureTdxVtpmClaims& az);

// The claims as a JSON object {"evidence_type", "machine", "pcrs", "attributes"}, keys sorted.
std::string ClaimsToJson(const Claims& claims);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TEE_CLAIMS_H_
