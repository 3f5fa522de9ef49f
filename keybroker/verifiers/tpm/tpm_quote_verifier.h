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
// The claims name the AK (Claims::attestation_key) and the machine its registration names.
// Without a registry, ak_trusted checks only the AK's attributes and the machine is left
// empty: the caller must then find the AK's registration itself and refuse the evidence when
// there is none (the release service does, in the same store read that spends the challenge).
// Thread-safe (the registry is).
class TpmQuoteVerifier final : public EvidenceVerifier {
 public:
  // `registry` may be null (see above).
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
  AttestationKeyRegistry* registry_;  // not owned; may be null
};

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_VERIFIER_H_
