#ifndef KB_KEYBROKER_VERIFIERS_SNP_SNP_CLAIMS_H_
#define KB_KEYBROKER_VERIFIERS_SNP_SNP_CLAIMS_H_

#include "keybroker/verifiers/api/claims.h"
#include "keybroker/verifiers/snp/snp_verifier.h"

namespace kb {

// Turns verified SEV-SNP claims into the generic Claims that policy sees (docs/policy.md lists
// every attribute name). Used by the broker's verifier and by `keybrokerctl verify-evidence`,
// so both print the same names.

// evidence_type "snp"; machine "snp-chip:<chip_id hex>"; attributes snp.*.
Claims ClaimsFromSnp(const SnpClaims& snp);

// Adds the snp.* attributes of `snp` to `claims` (also used for Azure SNP vTPM evidence).
void AddSnpAttributes(const SnpClaims& snp, Claims& claims);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_SNP_CLAIMS_H_
