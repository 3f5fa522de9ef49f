#include "tests/fakes/software_tpm.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "unlocker/tpm/key_templates.h"

namespace kb {
namespace {

template <typename T>
void SetBuffer(T& b, absl::string_view bytes) {
  b.size = static_cast<uint16_t>(bytes.size());
  memcpy(b.buffer, bytes.data(), bytes.size());
}

std::string BnBytes(EVP_PKEY* key, const char* param, size_t pad) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, param, &bn);
  std::string out(pad ? pad : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<uint8_t*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

// `templ` (key_templates.h) with the public key of `key` filled in.
TPMT_PUBLIC WithPublicKey(TPMT_PUBLIC templ, EVP_PKEY* key) {
  if (templ.type == TPM2_ALG_ECC) {
    SetBuffer(templ.unique.ecc.x, BnBytes(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    SetBuffer(templ.unique.ecc.y, BnBytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  } else {
    SetBuffer(templ.unique.rsa, BnBytes(key, OSSL_PKEY_PARAM_RSA_N, 0));
  }
  return templ;
}

absl::StatusOr<EvpPkeyPtr> PointToKey(absl::string_view sec1) {
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, sec1.data(), sec1.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
            EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  OSSL_PARAM_free(params);
  if (!ok) return OpenSslError("ephemeral point", absl::StatusCode::kInvalidArgument);
  return EvpPkeyPtr(pkey);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoftwareTpm>> SoftwareTpm::Create() {
  std::unique_ptr<SoftwareTpm> tpm(new SoftwareTpm());
  tpm->ak_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!tpm->ak_) return OpenSslError("AK keygen");
  TPMT_PUBLIC pub = WithPublicKey(AkTemplate(), tpm->ak_.get());
  ASSIGN_OR_RETURN(tpm->ak_public_, MarshalTpmtPublic(pub));
  ASSIGN_OR_RETURN(tpm->ak_name_, TpmName(TPM2_ALG_SHA256, tpm->ak_public_));
  for (auto& pcr : tpm->pcrs_) pcr.assign(32, '\0');
  ASSIGN_OR_RETURN(tpm->seal_key_, RandomSecret(32));
  return tpm;
}

void SoftwareTpm::SetPcr(uint32_t index, absl::string_view digest) {
  pcrs_.at(index) = std::string(digest);
}

void SoftwareTpm::ExtendPcr(uint32_t index, absl::string_view digest) {
  pcrs_.at(index) = Sha256(absl::StrCat(pcrs_.at(index), digest));
}

absl::StatusOr<std::string> SoftwareTpm::AttestationKeyPublic() { return ak_public_; }

absl::StatusOr<std::string> SoftwareTpm::CreateTransferKey(TransferKeyType type) {
  if (type == TransferKeyType::kEccP256) {
    transfer_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  } else {
    const size_t bits = type == TransferKeyType::kRsa2048 ? 2048 : 3072;
    transfer_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  }
  if (!transfer_) return OpenSslError("transfer keygen");
  TPMT_PUBLIC pub = WithPublicKey(TransferKeyTemplate(type), transfer_.get());
  ASSIGN_OR_RETURN(transfer_public_, MarshalTpmtPublic(pub));
  return transfer_public_;
}

TPMS_ATTEST SoftwareTpm::NewAttest(TPMI_ST_ATTEST type, absl::string_view binding) {
  TPMS_ATTEST attest = {};
  attest.magic = TPM2_GENERATED_VALUE;
  attest.type = type;
  attest.qualifiedSigner.size = static_cast<uint16_t>(ak_name_.size());
  memcpy(attest.qualifiedSigner.name, ak_name_.data(), ak_name_.size());
  SetBuffer(attest.extraData, binding);
  attest.clockInfo.clock = ++clock_;
  attest.clockInfo.safe = 1;
  attest.firmwareVersion = 0x20240101;
  return attest;
}

absl::StatusOr<std::string> SoftwareTpm::SignWithAk(absl::string_view attest) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 80;
  std::string der(len, '\0');
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, ak_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<uint8_t*>(der.data()), &len,
                     reinterpret_cast<const uint8_t*>(attest.data()), attest.size()) != 1) {
    return OpenSslError("AK sign");
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) return OpenSslError("d2i_ECDSA_SIG");
  TPMT_SIGNATURE tsig = {};
  tsig.sigAlg = TPM2_ALG_ECDSA;
  tsig.signature.ecdsa.hash = TPM2_ALG_SHA256;
  auto& r = tsig.signature.ecdsa.signatureR;
  auto& s = tsig.signature.ecdsa.signatureS;
  r.size = s.size = 32;
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), r.buffer, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), s.buffer, 32);
  return MarshalTpmtSignature(tsig);
}

absl::StatusOr<std::string> SoftwareTpm::SignAttest(const TPMS_ATTEST& attest,
                                                    std::string* marshaled) {
  ASSIGN_OR_RETURN(*marshaled, MarshalTpmsAttest(attest));
  return SignWithAk(*marshaled);
}

absl::StatusOr<v1::TpmTransferKey> SoftwareTpm::CertifyTransferKey(absl::string_view binding) {
  if (!transfer_) return absl::FailedPreconditionError("no transfer key created");
  TPMS_ATTEST attest = NewAttest(TPM2_ST_ATTEST_CERTIFY, binding);
  ASSIGN_OR_RETURN(std::string name, TpmName(TPM2_ALG_SHA256, transfer_public_));
  attest.attested.certify.name.size = static_cast<uint16_t>(name.size());
  memcpy(attest.attested.certify.name.name, name.data(), name.size());
  attest.attested.certify.qualifiedName = attest.attested.certify.name;
  v1::TpmTransferKey out;
  out.set_public_area(transfer_public_);
  ASSIGN_OR_RETURN(*out.mutable_certify_signature(),
                   SignAttest(attest, out.mutable_certify_info()));
  return out;
}

absl::StatusOr<v1::TpmQuoteEvidence> SoftwareTpm::Quote(absl::string_view binding,
                                                        const std::vector<uint32_t>& pcrs) {
  TPMS_ATTEST attest = NewAttest(TPM2_ST_ATTEST_QUOTE, binding);
  auto& sel = attest.attested.quote.pcrSelect;
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  v1::TpmQuoteEvidence out;
  std::string concat;
  for (uint32_t i = 0; i < 24; ++i) {
    bool selected = false;
    for (uint32_t p : pcrs) selected |= (p == i);
    if (!selected) continue;
    sel.pcrSelections[0].pcrSelect[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    concat += pcrs_[i];
    v1::PcrValue* v = out.add_pcrs();
    v->set_bank("sha256");
    v->set_index(i);
    v->set_digest(pcrs_[i]);
  }
  SetBuffer(attest.attested.quote.pcrDigest, Sha256(concat));
  ASSIGN_OR_RETURN(*out.mutable_signature(), SignAttest(attest, out.mutable_attest()));
  out.set_ak_public(ak_public_);
  return out;
}

absl::StatusOr<SecretBytes> SoftwareTpm::Unwrap(const v1::WrappedKey& wrapped) {
  if (!transfer_) return absl::FailedPreconditionError("no transfer key created");
  SecretBytes kek(32);
  size_t len = kek.size();
  if (wrapped.scheme() == v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP) {
    ASSIGN_OR_RETURN(EvpPkeyPtr eph, PointToKey(wrapped.ephemeral_public()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(transfer_.get(), nullptr));
    SecretBytes z(32);
    len = z.size();
    if (EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), eph.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), z.data(), &len) != 1) {
      return OpenSslError("ECDH", absl::StatusCode::kInvalidArgument);
    }
    ASSIGN_OR_RETURN(kek, DeriveEcdhWrapKek(z, wrapped.ephemeral_public(), transfer_public_));
  } else {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(transfer_.get(), nullptr));
    kek.resize(512);
    len = kek.size();
    const auto& ct = wrapped.encrypted_kek();
    if (EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
        EVP_PKEY_decrypt(ctx.get(), kek.data(), &len, reinterpret_cast<const uint8_t*>(ct.data()),
                         ct.size()) != 1) {
      return OpenSslError("RSA-OAEP decrypt", absl::StatusCode::kInvalidArgument);
    }
    kek.resize(len);
  }
  return UnwrapWithKek(kek, wrapped);
}

std::string SoftwareTpm::PcrBinding(const std::vector<uint32_t>& pcrs, uint64_t limit) const {
  std::string concat = absl::StrCat("limit=", limit);
  for (uint32_t p : pcrs) concat += pcrs_.at(p);
  return Sha256(concat);
}

absl::StatusOr<SealedKey> SoftwareTpm::SealOffline(const SecretBytes& key,
                                                   const std::vector<uint32_t>& pcrs,
                                                   uint32_t boots) {
  SealedKey sealed{"", 0x01004b42, offline_counter_ + boots + 1, pcrs};
  ASSIGN_OR_RETURN(sealed.blob, AesGcmSeal(seal_key_, key, PcrBinding(pcrs, sealed.limit)));
  return sealed;
}

absl::StatusOr<SecretBytes> SoftwareTpm::UnsealOffline(const SealedKey& sealed,
                                                       uint64_t* remaining) {
  ++offline_counter_;
  if (remaining != nullptr) {
    *remaining = offline_counter_ + 1 < sealed.limit ? sealed.limit - offline_counter_ - 1 : 0;
  }
  if (offline_counter_ >= sealed.limit) {
    return absl::ResourceExhaustedError("offline boot allowance used up");
  }
  auto key = AesGcmOpen(seal_key_, sealed.blob, PcrBinding(sealed.pcrs, sealed.limit));
  if (!key.ok()) {
    return absl::FailedPreconditionError("PCR values changed since the offline copy was sealed");
  }
  return key;
}

}  // namespace kb
