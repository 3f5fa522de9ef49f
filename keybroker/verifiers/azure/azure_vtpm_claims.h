#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_VTPM_CLAIMS_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_VTPM_CLAIMS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {

// What the paravisor's runtime claims and the vTPM quote of an Azure confidential VM say,
// whichever TEE report (SEV-SNP or TDX) vouches for them. Hex is lowercase.
struct AzureVtpmClaimsBase {
  std::string ak_spki_der;  // HCLAkPub, SubjectPublicKeyInfo DER
  EvpPkeyPtr ak;            // HCLAkPub (RSA), the key ak_spki_der encodes
  std::string user_data;    // hex; empty if the runtime claims carry none
  bool secure_boot = false;
  bool tpm_enabled = false;
  bool console_enabled = false;
  std::string vm_unique_id;
  std::string quote_nonce;               // hex
  std::map<uint32_t, std::string> pcrs;  // SHA-256 PCRs, hex (empty if none supplied)
};

// The checks after the TEE report verified and runtime_data_digest bound `runtime_data` to it:
// ak_from_runtime_claims, user_data (when `expected_user_data` is set), then the vTPM quote's
// quote_parse, quote_signature, quote_nonce (when `expected_nonce` is set) and pcr_digest.
// Fills `out`. Errors as ParseRuntimeClaims(), CheckUserData() and VerifyTpmQuote().
absl::Status VerifyRuntimeClaimsAndQuote(absl::string_view runtime_data,
                                         const std::optional<std::string>& expected_user_data,
                                         const TpmQuote& quote,
                                         const std::optional<std::string>& expected_nonce,
                                         AzureVtpmClaimsBase& out);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_VTPM_CLAIMS_H_
