#include "common/tpm/tpm_structures.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/ec_keys.h"

namespace kb {
namespace {

template <typename T, typename Fn>
absl::StatusOr<T> StrictUnmarshal(Fn fn, absl::string_view bytes, absl::string_view what) {
  T out = {};
  size_t offset = 0;
  TSS2_RC rc = fn(U8(bytes), bytes.size(), &offset, &out);
  if (rc != TSS2_RC_SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": malformed or truncated"));
  }
  if (offset != bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", bytes.size() - offset, " trailing bytes"));
  }
  return out;
}

template <typename T, typename Fn>
absl::StatusOr<std::string> Marshal(Fn fn, const T& in, absl::string_view what) {
  std::string out(sizeof(T) + 64, '\0');
  size_t offset = 0;
  if (fn(&in, reinterpret_cast<uint8_t*>(out.data()), out.size(), &offset) != TSS2_RC_SUCCESS) {
    return absl::InternalError(absl::StrCat("cannot marshal ", what));
  }
  out.resize(offset);
  return out;
}

const EVP_MD* HashMd(TPMI_ALG_HASH alg) {
  switch (alg) {
    case TPM2_ALG_SHA1:
      return EVP_sha1();
    case TPM2_ALG_SHA256:
      return EVP_sha256();
    case TPM2_ALG_SHA384:
      return EVP_sha384();
    case TPM2_ALG_SHA512:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

absl::StatusOr<EvpPkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  EvpPkeyPtr key = KeyFromParams(type, EVP_PKEY_PUBLIC_KEY, bld);
  if (!key) return OpenSslError("invalid TPM public key", absl::StatusCode::kInvalidArgument);
  return key;
}

absl::StatusOr<EvpPkeyPtr> EccKey(const TPMS_ECC_POINT& point, TPMI_ECC_CURVE curve) {
  const char* group = nullptr;
  size_t coord = 0;
  if (curve == TPM2_ECC_NIST_P256) {
    group = "prime256v1", coord = 32;
  } else if (curve == TPM2_ECC_NIST_P384) {
    group = "secp384r1", coord = 48;
  } else {
    return absl::InvalidArgumentError("unsupported ECC curve");
  }
  if (point.x.size > coord || point.y.size > coord) {
    return absl::InvalidArgumentError("ECC point coordinate too long");
  }
  std::string pub(1 + 2 * coord, '\0');
  pub[0] = 0x04;
  memcpy(pub.data() + 1 + coord - point.x.size, point.x.buffer, point.x.size);
  memcpy(pub.data() + 1 + 2 * coord - point.y.size, point.y.buffer, point.y.size);
  auto key = EcPublicKey(group, pub);
  if (!key.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("invalid TPM public key: ", key.status().message()));
  return key;
}

absl::StatusOr<EvpPkeyPtr> RsaKey(const TPMT_PUBLIC& pub) {
  const auto& rsa = pub.unique.rsa;
  uint32_t exponent = pub.parameters.rsaDetail.exponent ? pub.parameters.rsaDetail.exponent : 65537;
  BignumPtr n(BN_bin2bn(rsa.buffer, rsa.size, nullptr));
  BignumPtr e(BN_new());
  if (!n || !e || BN_set_word(e.get(), exponent) != 1) return OpenSslError("BN");
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
  return FromParams("RSA", bld.get());
}

absl::StatusOr<std::string> EcdsaDer(const TPMS_SIGNATURE_ECC& ecc) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(ecc.signatureR.buffer, ecc.signatureR.size, nullptr);
  BIGNUM* s = BN_bin2bn(ecc.signatureS.buffer, ecc.signatureS.size, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return OpenSslError("ECDSA_SIG");
  }
  uint8_t* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return OpenSslError("i2d_ECDSA_SIG");
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

}  // namespace

absl::StatusOr<TPMT_PUBLIC> ParseTpmtPublic(absl::string_view bytes, absl::string_view what) {
  return StrictUnmarshal<TPMT_PUBLIC>(Tss2_MU_TPMT_PUBLIC_Unmarshal, bytes, what);
}
absl::StatusOr<TPMS_ATTEST> ParseTpmsAttest(absl::string_view bytes, absl::string_view what) {
  return StrictUnmarshal<TPMS_ATTEST>(Tss2_MU_TPMS_ATTEST_Unmarshal, bytes, what);
}
absl::StatusOr<TPMT_SIGNATURE> ParseTpmtSignature(absl::string_view bytes, absl::string_view what) {
  return StrictUnmarshal<TPMT_SIGNATURE>(Tss2_MU_TPMT_SIGNATURE_Unmarshal, bytes, what);
}
absl::StatusOr<std::string> MarshalTpmtPublic(const TPMT_PUBLIC& pub) {
  return Marshal(Tss2_MU_TPMT_PUBLIC_Marshal, pub, "TPMT_PUBLIC");
}
absl::StatusOr<std::string> MarshalTpmsAttest(const TPMS_ATTEST& attest) {
  return Marshal(Tss2_MU_TPMS_ATTEST_Marshal, attest, "TPMS_ATTEST");
}
absl::StatusOr<std::string> MarshalTpmtSignature(const TPMT_SIGNATURE& sig) {
  return Marshal(Tss2_MU_TPMT_SIGNATURE_Marshal, sig, "TPMT_SIGNATURE");
}

absl::StatusOr<std::string> TpmName(TPMI_ALG_HASH name_alg, absl::string_view public_bytes) {
  const EVP_MD* md = HashMd(name_alg);
  if (md == nullptr || name_alg == TPM2_ALG_SHA1) {
    return absl::InvalidArgumentError("unsupported nameAlg (need SHA-256 or stronger)");
  }
  std::string out(2 + EVP_MD_get_size(md), '\0');
  out[0] = static_cast<char>(name_alg >> 8);
  out[1] = static_cast<char>(name_alg & 0xff);
  unsigned int len = 0;
  if (EVP_Digest(public_bytes.data(), public_bytes.size(),
                 reinterpret_cast<uint8_t*>(out.data()) + 2, &len, md, nullptr) != 1) {
    return OpenSslError("EVP_Digest");
  }
  return out;
}

absl::StatusOr<EvpPkeyPtr> PublicKeyFromTpmt(const TPMT_PUBLIC& pub) {
  if (pub.type == TPM2_ALG_ECC) return EccKey(pub.unique.ecc, pub.parameters.eccDetail.curveID);
  if (pub.type == TPM2_ALG_RSA) return RsaKey(pub);
  return absl::InvalidArgumentError("unsupported TPM key type (need ECC or RSA)");
}

absl::Status VerifyTpmSignature(EVP_PKEY* key, const TPMT_SIGNATURE& sig,
                                absl::string_view message) {
  TPMI_ALG_HASH hash;
  std::string der;
  int padding = 0;
  switch (sig.sigAlg) {
    case TPM2_ALG_ECDSA: {
      hash = sig.signature.ecdsa.hash;
      auto d = EcdsaDer(sig.signature.ecdsa);
      if (!d.ok()) return d.status();
      der = *std::move(d);
      break;
    }
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS:
      hash = sig.signature.rsassa.hash;
      der = Tpm2bBytes(sig.signature.rsassa.sig);
      padding = sig.sigAlg == TPM2_ALG_RSASSA ? RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING;
      break;
    default:
      return absl::InvalidArgumentError("unsupported signature scheme");
  }
  const EVP_MD* md = HashMd(hash);
  if (md == nullptr || hash == TPM2_ALG_SHA1) {
    return absl::InvalidArgumentError("unsupported signature hash");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return OpenSslError("EVP_DigestVerifyInit", absl::StatusCode::kInvalidArgument);
  }
  if (padding != 0 && (EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1 ||
                       (padding == RSA_PKCS1_PSS_PADDING &&
                        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))) {
    return OpenSslError("RSA padding", absl::StatusCode::kInvalidArgument);
  }
  if (EVP_DigestVerify(ctx.get(), U8(der), der.size(), U8(message), message.size()) != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError("signature does not verify");
  }
  return absl::OkStatus();
}

}  // namespace kb
