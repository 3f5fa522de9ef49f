#include "common/crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/openssl_util.h"

namespace kb {
namespace {

constexpr std::size_t kGcmNonceSize = 12;
constexpr std::size_t kGcmTagSize = 16;

absl::Status CheckAes256Key(const SecretBytes& key) {
  if (key.size() != 32) return absl::InvalidArgumentError("AES-256 key must be 32 bytes");
  return absl::OkStatus();
}

// SHA-256 and AES-256-GCM fetched from the default providers once: OpenSSL 3.0's one-shot
// SHA256() and the cipher named by EVP_aes_256_gcm() are fetched again on every call (a lock and
// a lookup in the method store), and every release hashes several times and opens its key
// version's material. Fetched at first use, after libcrypto read its configuration
// (OPENSSL_CONF), so providers must be set up there, not changed by code later. nullptr when the
// fetch failed; the callers then take OpenSSL's implicit fetch.
const EVP_MD* FetchedSha256() {
  static const EVP_MD* const kMd = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return kMd;
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const kCipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return kCipher != nullptr ? kCipher : EVP_aes_256_gcm();
}

}  // namespace

std::string Sha256(absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  auto* digest = reinterpret_cast<uint8_t*>(out.data());
  if (const EVP_MD* md = FetchedSha256();
      md == nullptr || EVP_Digest(U8(data), data.size(), digest, nullptr, md, nullptr) != 1) {
    // No digest is safer than a wrong one: it feeds the audit chain and evidence checks.
    if (SHA256(U8(data), data.size(), digest) == nullptr) {
      std::fputs("keybroker: SHA-256 failed in libcrypto\n", stderr);
      std::abort();
    }
  }
  return out;
}

absl::StatusOr<SecretBytes> RandomSecret(std::size_t n) {
  SecretBytes out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) return OpenSslError("RAND_bytes");
  return out;
}

absl::StatusOr<std::string> RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<uint8_t*>(out.data()), static_cast<int>(n)) != 1) {
    return OpenSslError("RAND_bytes");
  }
  return out;
}

absl::StatusOr<std::string> HmacSha256(const SecretBytes& key, absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U8(data), data.size(),
           reinterpret_cast<uint8_t*>(out.data()), &len) == nullptr ||
      len != out.size()) {
    return OpenSslError("HMAC-SHA256");
  }
  return out;
}

absl::StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm, absl::string_view salt,
                                       absl::string_view info, std::size_t length) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  SecretBytes out(length);
  std::size_t out_len = length;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), U8(salt), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ikm.data(), static_cast<int>(ikm.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), U8(info), static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &out_len) != 1 || out_len != length) {
    return OpenSslError("HKDF-SHA256");
  }
  return out;
}

absl::StatusOr<std::string> AesKwpWrap(const SecretBytes& kek, const SecretBytes& plaintext) {
  if (auto s = CheckAes256Key(kek); !s.ok()) return s;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  std::string out(plaintext.size() + 16, '\0');
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_wrap_pad(), nullptr, kek.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, plaintext.data(), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    return OpenSslError("AES-256-KWP wrap");
  }
  out.resize(len + fin);
  return out;
}

absl::StatusOr<SecretBytes> AesKwpUnwrap(const SecretBytes& kek, absl::string_view wrapped) {
  if (auto s = CheckAes256Key(kek); !s.ok()) return s;
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0) {
    return absl::InvalidArgumentError("wrapped key has an invalid length");
  }
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  SecretBytes out(wrapped.size());
  int len = 0, fin = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_wrap_pad(), nullptr, kek.data(), nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, U8(wrapped),
                        static_cast<int>(wrapped.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("AES-256-KWP unwrap failed: wrong key or tampered data");
  }
  out.resize(len + fin);
  return out;
}

absl::StatusOr<std::string> AesGcmSeal(const SecretBytes& key, const SecretBytes& plaintext,
                                       absl::string_view aad) {
  if (auto s = CheckAes256Key(key); !s.ok()) return s;
  auto nonce = RandomBytes(kGcmNonceSize);
  if (!nonce.ok()) return nonce.status();
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out = *nonce;
  out.resize(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  auto* ct = reinterpret_cast<uint8_t*>(out.data()) + kGcmNonceSize;
  int len = 0, fin = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.data(), U8(*nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize, ct + plaintext.size()) !=
          1) {
    return OpenSslError("AES-256-GCM seal");
  }
  return out;
}

absl::StatusOr<SecretBytes> AesGcmOpen(const SecretBytes& key, absl::string_view sealed,
                                       absl::string_view aad) {
  if (auto s = CheckAes256Key(key); !s.ok()) return s;
  if (sealed.size() < kGcmNonceSize + kGcmTagSize) {
    return absl::DataLossError("sealed data too short");
  }
  const std::size_t ct_len = sealed.size() - kGcmNonceSize - kGcmTagSize;
  std::string tag(sealed.substr(kGcmNonceSize + ct_len));
  SecretBytes out(ct_len);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.data(), U8(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, U8(sealed) + kGcmNonceSize,
                        static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1) {
    ERR_clear_error();
    return absl::DataLossError("AES-256-GCM authentication failed");
  }
  return out;
}

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex string has odd length");
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("hex string has a non-hex character");
    }
  }
  return absl::HexStringToBytes(hex);
}

}  // namespace kb
