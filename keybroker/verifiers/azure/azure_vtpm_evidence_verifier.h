#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_VTPM_EVIDENCE_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_VTPM_EVIDENCE_VERIFIER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/openssl_util.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "keybroker/verifiers/snp/snp_key_cert_cache.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {

// What the TD quote of Azure TDX vTPM evidence is verified against: the same trust anchors,
// collateral and requirements as plain TDX evidence (TdxEvidenceVerifier).
struct AzureTdxTrust {
  tdx::IntelTrustAnchors anchors;  // no roots: the embedded Intel SGX Root CA, no pins
  std::shared_ptr<const TdxCollateralCache> collateral;  // null: none ('collateral' fails)
  tdx::TdxVerifyOptions options;                         // default: all collateral required
  // The operator's collateral cache (keybrokerctl collateral import), merged with `collateral`
  // as for plain TDX evidence (newest valid item wins); null: none. Not owned.
  CollateralSource* cache = nullptr;
};

// Verifies AzureVtpmEvidence with a TransferKey.tpm key. Named checks, in order: parse, then
// for kind SNP VerifyAzureSnpVtpm()'s hcl_parse, runtime_data_digest, the SEV-SNP checks,
// vmpl, ak_from_runtime_claims, user_data (runtime claims "user-data" == binding),
// quote_parse, quote_signature, quote_nonce (extraData == binding), pcr_digest; for kind TDX
// VerifyAzureTdxVtpm()'s hcl_parse, runtime_data_digest, the TDX quote checks (header ...
// qe_identity), td_quote_binding, then the same AK, user_data and vTPM quote checks; then
// transfer_key_certification (the HCL AK certified the transfer key with extraData ==
// binding). Claims: ClaimsFromAzureSnp() / ClaimsFromAzureTdx() (azure_claims.h). A VCEK whose
// chain verified is kept (SnpKeyCertCache). Thread-safe.
class AzureVtpmEvidenceVerifier final : public EvidenceVerifier {
 public:
  // `amd_chain_pem`: ASK + ARK replacing the built-in AMD roots; empty for the built-ins.
  // Kind TDX is checked against the embedded Intel root with no collateral, so it fails the
  // 'collateral' check (FAILED_PRECONDITION) unless `tdx` is given.
  AzureVtpmEvidenceVerifier(std::string amd_chain_pem, const Clock* clock)
      : amd_chain_pem_(std::move(amd_chain_pem)), clock_(clock) {}
  AzureVtpmEvidenceVerifier(std::string amd_chain_pem, AzureTdxTrust tdx, const Clock* clock)
      : amd_chain_pem_(std::move(amd_chain_pem)), tdx_(std::move(tdx)), clock_(clock) {}
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                                absl::string_view expected_binding) override;

  // The same checks with the binding skipped (dry run; see EvidenceVerifier).
  absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                       const v1::TransferKey& transfer_key) override;

 private:
  // Verify() when `binding` is set, VerifyUnbound() when it is nullopt.
  absl::StatusOr<Claims> Check(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                               std::optional<absl::string_view> binding);
  // The kind-specific checks; they return the claims and the HCL AK, the key the vTPM quote
  // verified under.
  absl::StatusOr<Claims> CheckSnp(const v1::AzureVtpmEvidence& e,
                                  std::optional<absl::string_view> binding, EvpPkeyPtr& ak);
  absl::StatusOr<Claims> CheckTdx(const v1::AzureVtpmEvidence& e,
                                  std::optional<absl::string_view> binding, EvpPkeyPtr& ak);
  const std::string amd_chain_pem_;
  const AzureTdxTrust tdx_;
  const Clock* clock_;              // not owned
  SnpKeyCertCache verified_vceks_;  // kind SNP: VCEKs whose chain verified
};

// The vTPM quote of `q` in the form VerifyTpmQuote() takes: the signature is read as a
// TPMT_SIGNATURE when it parses as one, else as a bare RSASSA signature; SHA-256 PCR values
// are placed at their index. INVALID_ARGUMENT (check "parse") for PCRs of another bank.
absl::StatusOr<TpmQuote> AzureQuoteFromProto(const v1::TpmQuoteEvidence& q);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_VTPM_EVIDENCE_VERIFIER_H_
