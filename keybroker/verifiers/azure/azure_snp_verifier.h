#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_SNP_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_SNP_VERIFIER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/azure/azure_hcl.h"
#include "keybroker/verifiers/azure/azure_vtpm_claims.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {

// Evidence from an Azure SEV-SNP confidential VM: the HCL report read from vTPM NV index
// 0x01400001, the VCEK, and a vTPM quote signed by the HCL-attested AK.
struct AzureSnpVtpmInput {
  std::string hcl_report;
  std::string vcek;       // DER or PEM (a THIM-style VCEK+ASK+ARK bundle: first cert used)
  std::string chain_pem;  // optional operator chain (ASK + ARK); empty = built-in AMD roots
  absl::Time verify_time;
  // When set, runtime claims "user-data" must equal it (zero-padded to its length).
  std::optional<std::string> expected_user_data;
  TpmQuote quote;
  // When set, the quote's extraData must equal it.
  std::optional<std::string> expected_nonce;
};

// What verified Azure SNP vTPM evidence says. Hex is lowercase.
struct AzureSnpVtpmClaims : AzureVtpmClaimsBase {
  SnpClaims snp;
};

// Verifies Azure SNP vTPM evidence offline through the checks hcl_parse, runtime_data_digest,
// the SEV-SNP checks of VerifySnpReport() (parse ... report_signature), vmpl (must be 0),
// ak_from_runtime_claims, user_data (when expected), then quote_parse, quote_signature,
// quote_nonce and pcr_digest. INVALID_ARGUMENT for malformed input, UNAUTHENTICATED when a
// check fails; the message names the check. `key_certs`: VCEKs whose chain verified before, as
// for VerifySnpReport(); null: none.
absl::StatusOr<AzureSnpVtpmClaims> VerifyAzureSnpVtpm(const AzureSnpVtpmInput& input,
                                                      SnpKeyCertCache* key_certs = nullptr);

// Check vmpl: the SNP report comes from VMPL 0 (the HCL paravisor), not from the guest OS.
absl::Status CheckAzureVmpl(const SnpClaims& snp);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_SNP_VERIFIER_H_
