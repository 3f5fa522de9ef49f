#ifndef KB_COMMON_CRYPTO_H_
#define KB_COMMON_CRYPTO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"

namespace kb {

// SHA-256 of `data` (32 bytes).
std::string Sha256(absl::string_view data);

// `n` bytes from the OpenSSL CSPRNG. INTERNAL if the RNG fails.
absl::StatusOr<SecretBytes> RandomSecret(std::size_t n);
absl::StatusOr<std::string> RandomBytes(std::size_t n);

// HMAC-SHA256 of `data` under `key`: 32 bytes. INTERNAL if OpenSSL fails.
absl::StatusOr<std::string> HmacSha256(const SecretBytes& key, absl::string_view data);

// HKDF-SHA256 (RFC 5869) producing `length` bytes.
absl::StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm, absl::string_view salt,
                                       absl::string_view info, std::size_t length);

// AES-256 key wrap with padding (RFC 5649). `kek` must be 32 bytes.
absl::StatusOr<std::string> AesKwpWrap(const SecretBytes& kek, const SecretBytes& plaintext);
// Unwraps; INVALID_ARGUMENT if the integrity check fails (wrong key or tampered data).
absl::StatusOr<SecretBytes> AesKwpUnwrap(const SecretBytes& kek, absl::string_view wrapped);

// AES-256-GCM: returns nonce(12) || ciphertext || tag(16).
absl::StatusOr<std::string> AesGcmSeal(const SecretBytes& key, const SecretBytes& plaintext,
                                       absl::string_view aad);
// DATA_LOSS if authentication fails.
absl::StatusOr<SecretBytes> AesGcmOpen(const SecretBytes& key, absl::string_view sealed,
                                       absl::string_view aad);

// Lowercase hex.
std::string HexEncode(absl::string_view bytes);
// INVALID_ARGUMENT on odd length or a non-hex character.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

}  // namespace kb

#endif  // KB_COMMON_CRYPTO_H_
