#ifndef KB_KEYBROKER_VERIFIERS_AZURE_VTPM_EVIDENCE_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_VTPM_EVIDENCE_VERIFIER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "keybroker/verifiers/evidence_verifier.h"
#include "keybroker/verifiers/snp/azure_quote.h"

namespace kb {

// Verifies AzureVtpmEvidence of kind SNP with a TransferKey.tpm key. Named checks, in order:
// parse, then VerifyAzureSnpVtpm()'s hcl_parse, runtime_data_digest, the SEV-SNP checks,
// vmpl, ak_from_runtime_claims, user_data (runtime claims "user-data" == binding),
// quote_parse, quote_signature, quote_nonce (extraData == binding), pcr_digest; then
// transfer_key_certification (the HCL AK certified the transfer key with extraData ==
// binding). Kind TDX is rejected ("parse": not supported yet).
// Claims: ClaimsFromAzureSnp() (tee_claims.h). Thread-safe.
class AzureVtpmEvidenceVerifier final : public EvidenceVerifier {
 public:
  // `amd_chain_pem`: ASK + ARK replacing the built-in AMD roots; empty for the built-ins.
  AzureVtpmEvidenceVerifier(std::string amd_chain_pem, const Clock* clock)
      : amd_chain_pem_(std::move(amd_chain_pem)), clock_(clock) {}
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                                absl::string_view expected_binding) override;

  // The same checks with the binding skipped (dry run; see EvidenceVerifier).
  absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                       const v1::TransferKey& transfer_key) override;

 private:
  // Verify() when `binding` is set, VerifyUnbound() when it is nullopt.
  absl::StatusOr<Claims> Check(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                               std::optional<absl::string_view> binding);
  const std::string amd_chain_pem_;
  const Clock* clock_;  // not owned
};

// The vTPM quote of `q` in the form VerifyAzureTpmQuote() takes: the signature is read as a
// TPMT_SIGNATURE when it parses as one, else as a bare RSASSA signature; SHA-256 PCR values
// are placed at their index. INVALID_ARGUMENT (check "parse") for PCRs of another bank.
absl::StatusOr<AzureTpmQuote> AzureQuoteFromProto(const v1::TpmQuoteEvidence& q);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_VTPM_EVIDENCE_VERIFIER_H_
