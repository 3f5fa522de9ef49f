#ifndef KB_COMMON_WRAP_KEY_WRAP_H_
#define KB_COMMON_WRAP_KEY_WRAP_H_

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "kb/v1/release.pb.h"

namespace kb {

// The wrap schemes of kb.v1.WrapScheme (see proto/kb/v1/release.proto).

// Broker side: wraps `key` to the transfer key `pub` (marshaled as `public_bytes`). ECC P-256
// keys use the ECDH scheme, RSA 2048/3072 keys the RSA-OAEP scheme. INVALID_ARGUMENT for any
// other key.
absl::StatusOr<v1::WrappedKey> WrapToTpmTransferKey(const TPMT_PUBLIC& pub,
                                                    absl::string_view public_bytes,
                                                    const SecretBytes& key);

// Broker side: wraps `key` to a TEE-held transfer key given as a DER SubjectPublicKeyInfo,
// with the ECDH scheme (the KDF hashes the DER bytes where the TPM variant hashes the
// TPMT_PUBLIC). INVALID_ARGUMENT unless it is a NIST P-256 key with no trailing bytes.
absl::StatusOr<v1::WrappedKey> WrapToSpkiTransferKey(absl::string_view spki_der,
                                                     const SecretBytes& key);

// Both sides of the ECDH scheme: the AES-256 KEK from the shared x-coordinate `z`.
absl::StatusOr<SecretBytes> DeriveEcdhWrapKek(const SecretBytes& z,
                                              absl::string_view ephemeral_public,
                                              absl::string_view transfer_public_bytes);

// Guest side, after the TPM produced `kek` (ECDH: from Z; RSA: the decrypted AES key):
// INVALID_ARGUMENT if the wrapped key fails its integrity check.
absl::StatusOr<SecretBytes> UnwrapWithKek(const SecretBytes& kek, const v1::WrappedKey& wrapped);

// Guest side of WrapToSpkiTransferKey, for a P-256 private key `transfer` held in TEE memory
// whose public key is `spki_der`: Z = x(transfer * E), then DeriveEcdhWrapKek and AES-KWP.
// INVALID_ARGUMENT for another scheme, a malformed ephemeral point, or a failed integrity check.
absl::StatusOr<SecretBytes> UnwrapWithSpkiTransferKey(EVP_PKEY* transfer,
                                                      absl::string_view spki_der,
                                                      const v1::WrappedKey& wrapped);

}  // namespace kb

#endif  // KB_COMMON_WRAP_KEY_WRAP_H_
