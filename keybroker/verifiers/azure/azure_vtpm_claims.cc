#include "keybroker/verifiers/azure/azure_vtpm_claims.h"

#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/azure/azure_hcl.h"

namespace kb {

absl::Status VerifyRuntimeClaimsAndQuote(absl::string_view runtime_data,
                                         const std::optional<std::string>& expected_user_data,
                                         const TpmQuote& quote,
                                         const std::optional<std::string>& expected_nonce,
                                         AzureVtpmClaimsBase& out) {
  ASSIGN_OR_RETURN(RuntimeClaims rc, ParseRuntimeClaims(runtime_data));
  if (expected_user_data) RETURN_IF_ERROR(CheckUserData(rc, *expected_user_data));
  ASSIGN_OR_RETURN(TpmQuoteClaims verified, VerifyTpmQuote(rc.ak.get(), quote, expected_nonce));
  out.ak_spki_der = std::move(rc.ak_spki_der);
  out.ak = std::move(rc.ak);
  if (rc.user_data) out.user_data = HexEncode(*rc.user_data);
  out.secure_boot = rc.secure_boot;
  out.tpm_enabled = rc.tpm_enabled;
  out.console_enabled = rc.console_enabled;
  out.vm_unique_id = std::move(rc.vm_unique_id);
  out.quote_nonce = std::move(verified.nonce);
  out.pcrs = std::move(verified.pcrs);
  return absl::OkStatus();
}

}  // namespace kb
