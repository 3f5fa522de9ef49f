#ifndef KB_COMMON_TPM_TPM_STRUCTURES_H_
#define KB_COMMON_TPM_TPM_STRUCTURES_H_

#include <tss2/tss2_tpm2_types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"

namespace kb {

// Strict parsers for marshaled TPM structures (tss2-mu): INVALID_ARGUMENT if the bytes are
// truncated, malformed, or followed by trailing data. `what` names the field in errors.
absl::StatusOr<TPMT_PUBLIC> ParseTpmtPublic(absl::string_view bytes, absl::string_view what);
absl::StatusOr<TPMS_ATTEST> ParseTpmsAttest(absl::string_view bytes, absl::string_view what);
absl::StatusOr<TPMT_SIGNATURE> ParseTpmtSignature(absl::string_view bytes, absl::string_view what);

// Marshalers (INTERNAL on failure, which means a malformed structure from our own code).
absl::StatusOr<std::string> MarshalTpmtPublic(const TPMT_PUBLIC& pub);
absl::StatusOr<std::string> MarshalTpmsAttest(const TPMS_ATTEST& attest);
absl::StatusOr<std::string> MarshalTpmtSignature(const TPMT_SIGNATURE& sig);

// The attributes every attestation key must have: it cannot leave its TPM and signs only
// TPM-generated structures (a restricted signing key).
inline constexpr TPMA_OBJECT kAttestationKeyAttributes =
    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;

// The TPM name of an object: nameAlg (big-endian u16) || H_nameAlg(marshaled TPMT_PUBLIC).
// INVALID_ARGUMENT for an unsupported nameAlg.
absl::StatusOr<std::string> TpmName(TPMI_ALG_HASH name_alg, absl::string_view public_bytes);

// The public key of an ECC (P-256, P-384) or RSA TPMT_PUBLIC as an OpenSSL key.
absl::StatusOr<EvpPkeyPtr> PublicKeyFromTpmt(const TPMT_PUBLIC& pub);

// Verifies a TPM signature (ECDSA, RSASSA or RSAPSS) over `message` with `key`.
// UNAUTHENTICATED if it does not verify; INVALID_ARGUMENT for an unsupported scheme.
absl::Status VerifyTpmSignature(EVP_PKEY* key, const TPMT_SIGNATURE& sig,
                                absl::string_view message);

// The bytes of a TPM2B buffer as a string.
template <typename T>
std::string Tpm2bBytes(const T& b) {
  return std::string(reinterpret_cast<const char*>(b.buffer), b.size);
}

}  // namespace kb

#endif  // KB_COMMON_TPM_TPM_STRUCTURES_H_
