#ifndef KB_COMMON_TPM_MAKE_CREDENTIAL_H_
#define KB_COMMON_TPM_MAKE_CREDENTIAL_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"
#include "common/secret_bytes.h"

namespace kb {

// TPM2_MakeCredential in software (TPM 2.0 Part 1 §24, Part 3 §12.6): protects `credential` so
// that only the TPM holding the private part of `ek` can recover it, and only by
// TPM2_ActivateCredential with the object whose TPM name is `object_name` (the AK) as
// activateHandle. The EK is assumed to use the TCG default templates' parameters: nameAlg
// SHA-256 and AES-128-CFB as its symmetric algorithm (EK profile templates L-1 and L-2).
//
// RSA EKs (2048 bits or more): the seed is RSA-OAEP(SHA-256, label "IDENTITY\0") encrypted.
// ECC EKs (NIST P-256): the seed is KDFe over an ephemeral ECDH share, which is the secret.
struct MadeCredential {
  std::string credential_blob;   // marshaled TPM2B_ID_OBJECT (2-byte size included)
  std::string encrypted_secret;  // marshaled TPM2B_ENCRYPTED_SECRET (2-byte size included)
};

// INVALID_ARGUMENT if `credential` is empty or longer than 32 bytes, `object_name` is not a
// SHA-256 TPM name (34 bytes), or `ek` is neither RSA >= 2048 bits nor ECC P-256; INTERNAL if
// OpenSSL fails.
absl::StatusOr<MadeCredential> MakeCredential(EVP_PKEY* ek, const SecretBytes& credential,
                                              absl::string_view object_name);

// The TPM's half, in software (for tests and software TPMs): recovers the credential with the
// private EK. INVALID_ARGUMENT for malformed input, UNAUTHENTICATED if the integrity HMAC does
// not verify (wrong EK, wrong object name, tampered blob).
absl::StatusOr<SecretBytes> ActivateCredentialInSoftware(EVP_PKEY* ek_private,
                                                         absl::string_view credential_blob,
                                                         absl::string_view encrypted_secret,
                                                         absl::string_view object_name);

// KDFa with SHA-256 (TPM 2.0 Part 1 §11.4.10.2): counter-mode HMAC-SHA256 over
// [i]_32 || label || 0x00 || context_u || context_v || [bits]_32. Exposed for tests.
SecretBytes KdfaSha256(const SecretBytes& key, absl::string_view label, absl::string_view context_u,
                       absl::string_view context_v, size_t bits);

}  // namespace kb

#endif  // KB_COMMON_TPM_MAKE_CREDENTIAL_H_
