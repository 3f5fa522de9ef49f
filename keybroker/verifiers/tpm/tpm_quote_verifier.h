#ifndef KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_VERIFIER_H_

#include <memory>
#include <optional>

#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/verifiers/api/evidence_verifier.h"

namespace kb {

// Verifies TPM2_Quote evidence from an operator-registered attestation key, and the TPM
// transfer key's TPM2_Certify by the same AK. Named checks, in order:
//   parse, ak_trusted, quote_signature, quote_magic_and_type, quote_binding, pcr_digest,
//   transfer_key_certification
// Thread-safe (the registry is).
class TpmQuoteVerifier final : public EvidenceVerifier {
 public:
  explicit TpmQuoteVerifier(AttestationKeyRegistry* registry) : registry_(registry) {}
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                                absl::string_view expected_binding) override;

  // The same checks with the binding skipped (dry run; see EvidenceVerifier).
  absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                       const v1::TransferKey& transfer_key) override;

 private:
  // Verify() when `binding` is set, VerifyUnbound() when it is nullopt.
  absl::StatusOr<Claims> Check(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                               std::optional<absl::string_view> binding);
  AttestationKeyRegistry* registry_;  // not owned
};

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_VERIFIER_H_
