#include "common/tpm/make_credential.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr size_t kDigestSize = 32;   // SHA-256, the EK's nameAlg
constexpr size_t kSymKeyBits = 128;  // AES-128-CFB, the EK's symmetric algorithm
// The label of the seed (TPM 2.0 Part 1 §24.4): "IDENTITY" with its terminating NUL.
constexpr absl::string_view kIdentityLabel("IDENTITY\0", 9);

std::string Be16(size_t v) {
  return std::string{static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}
std::string Be32(uint32_t v) { return absl::StrCat(Be16(v >> 16), Be16(v & 0xffff)); }
std::string Tpm2b(absl::string_view bytes) { return absl::StrCat(Be16(bytes.size()), bytes); }

// Splits a TPM2B off the front of `in`; INVALID_ARGUMENT if truncated.
absl::StatusOr<absl::string_view> TakeTpm2b(absl::string_view& in, absl::string_view what) {
  if (in.size() < 2) return absl::InvalidArgumentError(absl::StrCat(what, ": truncated"));
  const size_t n = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
  if (in.size() < 2 + n) return absl::InvalidArgumentError(absl::StrCat(what, ": truncated"));
  absl::string_view out = in.substr(2, n);
  in.remove_prefix(2 + n);
  return out;
}

absl::StatusOr<absl::string_view> WholeTpm2b(absl::string_view in, absl::string_view what) {
  ASSIGN_OR_RETURN(absl::string_view out, TakeTpm2b(in, what));
  if (!in.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": trailing bytes"));
  return out;
}

// KDFe with SHA-256 (Part 1 §11.4.10.3), one block: H([1]_32 || Z || label || U || V).
SecretBytes KdfeSha256(const SecretBytes& z, absl::string_view label_with_nul,
                       absl::string_view party_u, absl::string_view party_v) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  SecretBytes out(kDigestSize);
  const std::string counter = Be32(1);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), counter.data(), counter.size());
  EVP_DigestUpdate(ctx.get(), z.data(), z.size());
  EVP_DigestUpdate(ctx.get(), label_with_nul.data(), label_with_nul.size());
  EVP_DigestUpdate(ctx.get(), party_u.data(), party_u.size());
  EVP_DigestUpdate(ctx.get(), party_v.data(), party_v.size());
  EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr);
  return out;
}

// AES-128-CFB with a zero IV, as the TPM protects credentials (Part 1 §24.4).
absl::StatusOr<std::string> Aes128Cfb(const SecretBytes& key, absl::string_view in, bool encrypt) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const uint8_t iv[16] = {};
  std::string out(in.size(), '\0');
  int len = 0;
  int final_len = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_128_cfb128(), nullptr, key.data(), iv, encrypt) != 1 ||
      EVP_CipherUpdate(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len, U8(in),
                       static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<uint8_t*>(out.data()) + len, &final_len) !=
          1) {
    return OpenSslError("AES-128-CFB");
  }
  return out;
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {};
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        nullptr) == 1 &&
         std::string(group) == "prime256v1";
}

std::string Coordinate(EVP_PKEY* key, const char* param) {
  BIGNUM* bn = nullptr;
  std::string out(32, '\0');
  if (EVP_PKEY_get_bn_param(key, param, &bn) == 1) {
    BN_bn2binpad(bn, reinterpret_cast<uint8_t*>(out.data()), 32);
  }
  BN_free(bn);
  return out;
}

absl::StatusOr<SecretBytes> Ecdh(EVP_PKEY* own, EVP_PKEY* peer) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return OpenSslError("ECDH", absl::StatusCode::kInvalidArgument);
  }
  SecretBytes z(len);
  if (EVP_PKEY_derive(ctx.get(), z.data(), &len) != 1) return OpenSslError("ECDH");
  z.resize(len);
  return z;
}

// The seed and its encryption to the EK (the TPM2B_ENCRYPTED_SECRET contents).
struct Seed {
  SecretBytes seed;
  std::string encrypted;
};

// An RSA-OAEP context with SHA-256 (OAEP and MGF1) and the label "IDENTITY\0".
absl::StatusOr<EvpPkeyCtxPtr> OaepContext(EVP_PKEY* key, bool encrypt) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  void* label = OPENSSL_memdup(kIdentityLabel.data(), kIdentityLabel.size());
  if (!ctx || label == nullptr ||
      (encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get())) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, kIdentityLabel.size()) != 1) {
    OPENSSL_free(label);
    return OpenSslError("RSA-OAEP setup");
  }
  return ctx;
}

absl::StatusOr<Seed> RsaSeed(EVP_PKEY* ek) {
  Seed out{SecretBytes(kDigestSize), ""};
  if (RAND_bytes(out.seed.data(), kDigestSize) != 1) return OpenSslError("RAND_bytes(seed)");
  ASSIGN_OR_RETURN(EvpPkeyCtxPtr ctx, OaepContext(ek, /*encrypt=*/true));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, out.seed.data(), kDigestSize) != 1) {
    return OpenSslError("RSA-OAEP");
  }
  out.encrypted.resize(len);
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<uint8_t*>(out.encrypted.data()), &len,
                       out.seed.data(), kDigestSize) != 1) {
    return OpenSslError("RSA-OAEP");
  }
  out.encrypted.resize(len);
  return out;
}

absl::StatusOr<Seed> EccSeed(EVP_PKEY* ek) {
  EvpPkeyPtr ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!ephemeral) return OpenSslError("ephemeral P-256 keygen");
  ASSIGN_OR_RETURN(SecretBytes z, Ecdh(ephemeral.get(), ek));
  const std::string ex = Coordinate(ephemeral.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  const std::string ey = Coordinate(ephemeral.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  const std::string kx = Coordinate(ek, OSSL_PKEY_PARAM_EC_PUB_X);
  return Seed{KdfeSha256(z, kIdentityLabel, ex, kx), absl::StrCat(Tpm2b(ex), Tpm2b(ey))};
}

}  // namespace

SecretBytes KdfaSha256(const SecretBytes& key, absl::string_view label, absl::string_view context_u,
                       absl::string_view context_v, size_t bits) {
  const size_t bytes = (bits + 7) / 8;
  SecretBytes out((bytes + kDigestSize - 1) / kDigestSize * kDigestSize);
  const std::string fixed =
      absl::StrCat(label, absl::string_view("\0", 1), context_u, context_v, Be32(bits));
  for (uint32_t i = 1; i * kDigestSize <= out.size(); ++i) {
    const std::string input = absl::StrCat(Be32(i), fixed);
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U8(input), input.size(),
         out.data() + (i - 1) * kDigestSize, &len);
  }
  out.resize(bytes);  // shrinking keeps the buffer, which is wiped when `out` goes
  return out;
}

absl::StatusOr<MadeCredential> MakeCredential(EVP_PKEY* ek, const SecretBytes& credential,
                                              absl::string_view object_name) {
  if (credential.empty() || credential.size() > kDigestSize) {
    return absl::InvalidArgumentError("credential must be 1..32 bytes");
  }
  if (object_name.size() != 2 + kDigestSize || object_name[0] != 0x00 ||
      object_name[1] != static_cast<char>(TPM2_ALG_SHA256)) {
    return absl::InvalidArgumentError("object name is not a SHA-256 TPM name");
  }
  Seed seed;
  if (EVP_PKEY_get_base_id(ek) == EVP_PKEY_RSA && EVP_PKEY_get_bits(ek) >= 2048) {
    ASSIGN_OR_RETURN(seed, RsaSeed(ek));
  } else if (IsP256(ek)) {
    ASSIGN_OR_RETURN(seed, EccSeed(ek));
  } else {
    return absl::InvalidArgumentError("EK is neither RSA (>= 2048 bits) nor ECC NIST P-256");
  }
  const SecretBytes sym_key = KdfaSha256(seed.seed, "STORAGE", object_name, "", kSymKeyBits);
  const SecretBytes hmac_key = KdfaSha256(seed.seed, "INTEGRITY", "", "", kDigestSize * 8);
  // encIdentity protects the marshaled TPM2B_DIGEST of the credential.
  SecretBytes plain = SecretBytes::FromString(Be16(credential.size()));
  plain.resize(2 + credential.size());
  memcpy(plain.data() + 2, credential.data(), credential.size());
  ASSIGN_OR_RETURN(std::string enc_identity, Aes128Cfb(sym_key, plain.view(), true));
  ASSIGN_OR_RETURN(std::string hmac, HmacSha256(hmac_key, absl::StrCat(enc_identity, object_name)));
  MadeCredential out;
  out.credential_blob = Tpm2b(absl::StrCat(Tpm2b(hmac), enc_identity));
  out.encrypted_secret = Tpm2b(seed.encrypted);
  return out;
}

namespace {

// The P-256 public key with coordinates `x` and `y` (32 bytes each).
absl::StatusOr<EvpPkeyPtr> P256Point(absl::string_view x, absl::string_view y) {
  const std::string sec1 = absl::StrCat("\x04", x, y);
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, sec1.data(), sec1.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  const bool ok = params && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                  EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  OSSL_PARAM_free(params);
  if (!ok) return OpenSslError("encrypted secret point", absl::StatusCode::kInvalidArgument);
  return EvpPkeyPtr(raw);
}

// The seed from a TPM2B_ENCRYPTED_SECRET's contents, with the private EK.
absl::StatusOr<SecretBytes> RecoverSeed(EVP_PKEY* ek, absl::string_view encrypted) {
  if (EVP_PKEY_get_base_id(ek) == EVP_PKEY_EC) {
    ASSIGN_OR_RETURN(absl::string_view x, TakeTpm2b(encrypted, "encrypted secret point x"));
    ASSIGN_OR_RETURN(absl::string_view y, WholeTpm2b(encrypted, "encrypted secret point y"));
    if (x.size() != 32 || y.size() != 32) {
      return absl::InvalidArgumentError("encrypted secret: not a P-256 point");
    }
    ASSIGN_OR_RETURN(EvpPkeyPtr peer, P256Point(x, y));
    ASSIGN_OR_RETURN(SecretBytes z, Ecdh(ek, peer.get()));
    return KdfeSha256(z, kIdentityLabel, x, Coordinate(ek, OSSL_PKEY_PARAM_EC_PUB_X));
  }
  ASSIGN_OR_RETURN(EvpPkeyCtxPtr ctx, OaepContext(ek, /*encrypt=*/false));
  SecretBytes seed(EVP_PKEY_get_size(ek));
  size_t len = seed.size();
  if (EVP_PKEY_decrypt(ctx.get(), seed.data(), &len, U8(encrypted), encrypted.size()) != 1) {
    return OpenSslError("RSA-OAEP decrypt", absl::StatusCode::kUnauthenticated);
  }
  seed.resize(len);
  return seed;
}

}  // namespace

absl::StatusOr<SecretBytes> ActivateCredentialInSoftware(EVP_PKEY* ek_private,
                                                         absl::string_view credential_blob,
                                                         absl::string_view encrypted_secret,
                                                         absl::string_view object_name) {
  ASSIGN_OR_RETURN(absl::string_view blob, WholeTpm2b(credential_blob, "credential blob"));
  ASSIGN_OR_RETURN(absl::string_view hmac, TakeTpm2b(blob, "integrity HMAC"));
  ASSIGN_OR_RETURN(absl::string_view secret, WholeTpm2b(encrypted_secret, "encrypted secret"));
  ASSIGN_OR_RETURN(SecretBytes seed, RecoverSeed(ek_private, secret));
  const SecretBytes hmac_key = KdfaSha256(seed, "INTEGRITY", "", "", kDigestSize * 8);
  ASSIGN_OR_RETURN(std::string expected_hmac,
                   HmacSha256(hmac_key, absl::StrCat(blob, object_name)));
  if (!ConstantTimeEquals(hmac, expected_hmac)) {
    return absl::UnauthenticatedError("credential integrity HMAC does not verify");
  }
  const SecretBytes sym_key = KdfaSha256(seed, "STORAGE", object_name, "", kSymKeyBits);
  ASSIGN_OR_RETURN(std::string plain, Aes128Cfb(sym_key, blob, false));
  SecretBytes plain_secret = SecretBytes::FromString(plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  ASSIGN_OR_RETURN(absl::string_view credential, WholeTpm2b(plain_secret.view(), "credential"));
  return SecretBytes::FromString(credential);
}

}  // namespace kb
