#include "common/wrap/key_wrap.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/ec_keys.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"

namespace kb {
namespace {

constexpr absl::string_view kEcdhInfoLabel = "kb-wrap-ecdh-p256-v1";

// The shared secret of ECDH on P-256 between `own` (a private key) and `peer`, whose point is
// first checked to be on the curve and not the point at infinity (partial public-key
// validation, NIST SP 800-56A rev. 3, 5.6.2.3.4). P-256 has cofactor 1, so such a point has the
// group's order: the full check that EVP_PKEY_derive_set_peer runs by default adds only its n*Q
// multiplication, which costs as much as the ECDH itself (docs/performance.md). `peer_name`
// names the peer in errors.
absl::StatusOr<SecretBytes> EcdhP256(EVP_PKEY* own, EVP_PKEY* peer, absl::string_view peer_name) {
  EvpPkeyCtxPtr peer_check(EVP_PKEY_CTX_new_from_pkey(nullptr, peer, nullptr));
  if (!peer_check || EVP_PKEY_public_check_quick(peer_check.get()) != 1) {
    return OpenSslError(absl::StrCat(peer_name, " is not a point on P-256"),
                        absl::StatusCode::kInvalidArgument);
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(own, nullptr));
  SecretBytes z(32);
  size_t z_len = z.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, /*validate_peer=*/0) != 1 ||
      EVP_PKEY_derive(ctx.get(), z.data(), &z_len) != 1 || z_len != 32) {
    return OpenSslError(absl::StrCat("ECDH with ", peer_name), absl::StatusCode::kInvalidArgument);
  }
  return z;
}

absl::StatusOr<v1::WrappedKey> WrapEcdh(EVP_PKEY* transfer, absl::string_view public_bytes,
                                        const SecretBytes& key) {
  ASSIGN_OR_RETURN(EvpPkeyPtr eph, GenerateP256Key());
  ASSIGN_OR_RETURN(SecretBytes z, EcdhP256(eph.get(), transfer, "transfer key"));
  std::string e(65, '\0');
  size_t e_len = 0;
  if (EVP_PKEY_get_octet_string_param(eph.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<uint8_t*>(e.data()), e.size(),
                                      &e_len) != 1 ||
      e_len != 65) {
    return OpenSslError("ephemeral public point");
  }
  ASSIGN_OR_RETURN(SecretBytes kek, DeriveEcdhWrapKek(z, e, public_bytes));
  v1::WrappedKey out;
  out.set_scheme(v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP);
  out.set_ephemeral_public(e);
  ASSIGN_OR_RETURN(*out.mutable_wrapped(), AesKwpWrap(kek, key));
  return out;
}

absl::StatusOr<v1::WrappedKey> WrapRsa(EVP_PKEY* transfer, const SecretBytes& key) {
  ASSIGN_OR_RETURN(SecretBytes kek, RandomSecret(32));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(transfer, nullptr));
  std::string ct(EVP_PKEY_get_size(transfer), '\0');
  size_t ct_len = ct.size();
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<uint8_t*>(ct.data()), &ct_len, kek.data(),
                       kek.size()) != 1) {
    return OpenSslError("RSA-OAEP to transfer key", absl::StatusCode::kInvalidArgument);
  }
  ct.resize(ct_len);
  v1::WrappedKey out;
  out.set_scheme(v1::WRAP_SCHEME_RSA_OAEP_SHA256_A256KWP);
  out.set_encrypted_kek(ct);
  ASSIGN_OR_RETURN(*out.mutable_wrapped(), AesKwpWrap(kek, key));
  return out;
}

}  // namespace

absl::StatusOr<v1::WrappedKey> WrapToTpmTransferKey(const TPMT_PUBLIC& pub,
                                                    absl::string_view public_bytes,
                                                    const SecretBytes& key) {
  ASSIGN_OR_RETURN(EvpPkeyPtr transfer, PublicKeyFromTpmt(pub));
  if (pub.type == TPM2_ALG_ECC) {
    if (pub.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256) {
      return absl::InvalidArgumentError("ECC transfer key must be NIST P-256");
    }
    return WrapEcdh(transfer.get(), public_bytes, key);
  }
  const int bits = pub.parameters.rsaDetail.keyBits;
  if (bits != 2048 && bits != 3072) {
    return absl::InvalidArgumentError("RSA transfer key must be 2048 or 3072 bits");
  }
  return WrapRsa(transfer.get(), key);
}

absl::StatusOr<v1::WrappedKey> WrapToSpkiTransferKey(absl::string_view spki_der,
                                                     const SecretBytes& key) {
  absl::StatusOr<EvpPkeyPtr> transfer = PublicKeyFromSpki(spki_der);
  if (!transfer.ok()) {
    return absl::Status(transfer.status().code(),
                        absl::StrCat("SPKI transfer key: ", transfer.status().message()));
  }
  char group[32] = {0};
  size_t group_len = 0;
  if (EVP_PKEY_get_base_id(transfer->get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(transfer->get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                     sizeof(group), &group_len) != 1 ||
      absl::string_view(group, group_len) != "prime256v1") {
    return absl::InvalidArgumentError("SPKI transfer key must be ECC NIST P-256");
  }
  return WrapEcdh(transfer->get(), spki_der, key);
}

absl::StatusOr<SecretBytes> DeriveEcdhWrapKek(const SecretBytes& z,
                                              absl::string_view ephemeral_public,
                                              absl::string_view transfer_public_bytes) {
  return HkdfSha256(
      z, "", absl::StrCat(kEcdhInfoLabel, ephemeral_public, Sha256(transfer_public_bytes)), 32);
}

absl::StatusOr<SecretBytes> UnwrapWithKek(const SecretBytes& kek, const v1::WrappedKey& wrapped) {
  return AesKwpUnwrap(kek, wrapped.wrapped());
}

absl::StatusOr<SecretBytes> UnwrapWithSpkiTransferKey(EVP_PKEY* transfer,
                                                      absl::string_view spki_der,
                                                      const v1::WrappedKey& wrapped) {
  if (wrapped.scheme() != v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP) {
    return absl::InvalidArgumentError("wrapped key is not ECDH-P256 wrapped");
  }
  const std::string& e = wrapped.ephemeral_public();
  EvpPkeyPtr peer(EVP_PKEY_new());
  if (e.size() != 65 || e[0] != 0x04 || !peer ||
      EVP_PKEY_copy_parameters(peer.get(), transfer) != 1 ||
      EVP_PKEY_set1_encoded_public_key(peer.get(), reinterpret_cast<const uint8_t*>(e.data()),
                                       e.size()) != 1) {
    return OpenSslError("ephemeral public point", absl::StatusCode::kInvalidArgument);
  }
  ASSIGN_OR_RETURN(SecretBytes z, EcdhP256(transfer, peer.get(), "ephemeral key"));
  ASSIGN_OR_RETURN(SecretBytes kek, DeriveEcdhWrapKek(z, e, spki_der));
  return UnwrapWithKek(kek, wrapped);
}

}  // namespace kb
