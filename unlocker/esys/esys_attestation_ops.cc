// EsysAttestation: certification of the transfer key, PCR quotes, and unwrapping.
#include <tss2/tss2_esys.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "unlocker/esys/esys_attestation.h"
#include "unlocker/esys/esys_util.h"

namespace kb {
namespace {

constexpr uint32_t kNumPcrs = 24;
constexpr int kQuoteAttempts = 3;
constexpr size_t kEcP256Bytes = 32;

absl::StatusOr<TPM2B_DATA> QualifyingData(absl::string_view binding) {
  TPM2B_DATA data{};
  if (binding.size() > sizeof(data.buffer)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "binding is ", binding.size(), " bytes; a TPM accepts at most ", sizeof(data.buffer)));
  }
  data.size = binding.size();
  std::memcpy(data.buffer, binding.data(), binding.size());
  return data;
}

absl::StatusOr<TPML_PCR_SELECTION> Sha256Selection(const std::vector<uint32_t>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = kNumPcrs / 8;
  for (uint32_t pcr : pcrs) {
    if (pcr >= kNumPcrs) {
      return absl::InvalidArgumentError(absl::StrCat("PCR index ", pcr, " is not below 24"));
    }
    sel.pcrSelections[0].pcrSelect[pcr / 8] |= 1u << (pcr % 8);
  }
  return sel;
}

std::string AttestBytes(const TPM2B_ATTEST& a) {
  return std::string(reinterpret_cast<const char*>(a.attestationData), a.size);
}

bool SelectionEmpty(const TPMS_PCR_SELECTION& s) {
  for (int i = 0; i < s.sizeofSelect; ++i) {
    if (s.pcrSelect[i] != 0) return false;
  }
  return true;
}

absl::StatusOr<TPM2B_ECC_POINT> ParseP256Point(absl::string_view sec1) {
  if (sec1.size() != 1 + 2 * kEcP256Bytes || sec1[0] != 0x04) {
    return absl::InvalidArgumentError(
        "ephemeral_public is not an uncompressed P-256 point (65 bytes, 0x04||X||Y)");
  }
  TPM2B_ECC_POINT point{};
  point.point.x.size = point.point.y.size = kEcP256Bytes;
  std::memcpy(point.point.x.buffer, sec1.data() + 1, kEcP256Bytes);
  std::memcpy(point.point.y.buffer, sec1.data() + 1 + kEcP256Bytes, kEcP256Bytes);
  return point;
}

}  // namespace

absl::StatusOr<v1::TpmTransferKey> EsysAttestation::CertifyTransferKey(absl::string_view binding) {
  if (transfer_ == ESYS_TR_NONE) {
    return absl::FailedPreconditionError("CertifyTransferKey: no transfer key was created");
  }
  ASSIGN_OR_RETURN(TPM2B_DATA qualifying, QualifyingData(binding));
  TPM2B_ATTEST* raw_info = nullptr;
  TPMT_SIGNATURE* raw_sig = nullptr;
  TSS2_RC rc = Esys_Certify(ctx_.get(), transfer_, ak_, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD,
                            ESYS_TR_NONE, &qualifying, &ak_scheme_, &raw_info, &raw_sig);
  EsysPtr<TPM2B_ATTEST> info(raw_info);
  EsysPtr<TPMT_SIGNATURE> sig(raw_sig);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_Certify(transfer key, AK)", rc);
  v1::TpmTransferKey out;
  out.set_public_area(transfer_public_);
  // TPM2B_ATTEST.attestationData is the marshaled TPMS_ATTEST, exactly what was signed.
  out.set_certify_info(AttestBytes(*info));
  ASSIGN_OR_RETURN(*out.mutable_certify_signature(), MarshalTpmtSignature(*sig));
  return out;
}

absl::StatusOr<v1::TpmQuoteEvidence> EsysAttestation::Quote(absl::string_view binding,
                                                            const std::vector<uint32_t>& pcrs) {
  ASSIGN_OR_RETURN(TPML_PCR_SELECTION selection, Sha256Selection(pcrs));
  // A PCR may be extended between TPM2_Quote and TPM2_PCR_Read; then the values would not
  // match the quoted digest, so retry a bounded number of times.
  for (int attempt = 0; attempt < kQuoteAttempts; ++attempt) {
    v1::TpmQuoteEvidence evidence;
    ASSIGN_OR_RETURN(std::string pcr_digest, QuoteOnce(binding, selection, &evidence));
    RETURN_IF_ERROR(ReadPcrs(selection, &evidence));
    std::string concat;
    for (const v1::PcrValue& v : evidence.pcrs()) concat += v.digest();
    // The quote's digest uses the signing hash; only SHA-256 can be checked here.
    if (pcr_digest.size() != 32 || Sha256(concat) == pcr_digest) return evidence;
  }
  return absl::AbortedError("PCR values kept changing between TPM2_Quote and TPM2_PCR_Read");
}

// Quotes and fills attest, signature and ak_public; returns the quote's pcrDigest.
absl::StatusOr<std::string> EsysAttestation::QuoteOnce(absl::string_view binding,
                                                       const TPML_PCR_SELECTION& selection,
                                                       v1::TpmQuoteEvidence* evidence) {
  ASSIGN_OR_RETURN(TPM2B_DATA qualifying, QualifyingData(binding));
  TPM2B_ATTEST* raw_quoted = nullptr;
  TPMT_SIGNATURE* raw_sig = nullptr;
  TSS2_RC rc = Esys_Quote(ctx_.get(), ak_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &qualifying, &ak_scheme_, &selection, &raw_quoted, &raw_sig);
  EsysPtr<TPM2B_ATTEST> quoted(raw_quoted);
  EsysPtr<TPMT_SIGNATURE> sig(raw_sig);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_Quote(AK)", rc);
  evidence->set_attest(AttestBytes(*quoted));
  ASSIGN_OR_RETURN(*evidence->mutable_signature(), MarshalTpmtSignature(*sig));
  evidence->set_ak_public(ak_public_);
  ASSIGN_OR_RETURN(TPMS_ATTEST attest, ParseTpmsAttest(evidence->attest(), "quote attest"));
  if (attest.type != TPM2_ST_ATTEST_QUOTE) {
    return absl::InternalError("TPM2_Quote returned a non-quote attestation");
  }
  return Tpm2bBytes(attest.attested.quote.pcrDigest);
}

// Reads the SHA-256 PCRs in `selection` (PCR_Read returns at most 8 per call) into `evidence`,
// in increasing index order.
absl::Status EsysAttestation::ReadPcrs(const TPML_PCR_SELECTION& selection,
                                       v1::TpmQuoteEvidence* evidence) {
  TPML_PCR_SELECTION remaining = selection;
  while (!SelectionEmpty(remaining.pcrSelections[0])) {
    UINT32 update_counter = 0;
    TPML_PCR_SELECTION* raw_sel = nullptr;
    TPML_DIGEST* raw_values = nullptr;
    TSS2_RC rc = Esys_PCR_Read(ctx_.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &remaining,
                               &update_counter, &raw_sel, &raw_values);
    EsysPtr<TPML_PCR_SELECTION> read_sel(raw_sel);
    EsysPtr<TPML_DIGEST> values(raw_values);
    if (rc != TSS2_RC_SUCCESS) return TssError("Esys_PCR_Read(sha256)", rc);
    uint32_t next = 0;
    for (uint32_t s = 0; s < read_sel->count; ++s) {
      const TPMS_PCR_SELECTION& got = read_sel->pcrSelections[s];
      if (got.hash != TPM2_ALG_SHA256) continue;
      for (uint32_t pcr = 0; pcr < kNumPcrs && pcr / 8 < got.sizeofSelect; ++pcr) {
        if ((got.pcrSelect[pcr / 8] & (1u << (pcr % 8))) == 0) continue;
        if (next >= values->count) return absl::InternalError("PCR_Read: too few digests");
        v1::PcrValue* v = evidence->add_pcrs();
        v->set_bank("sha256");
        v->set_index(pcr);
        v->set_digest(Tpm2bBytes(values->digests[next++]));
        remaining.pcrSelections[0].pcrSelect[pcr / 8] &= ~(1u << (pcr % 8));
      }
    }
    if (next == 0) {
      return absl::FailedPreconditionError("the TPM has no SHA-256 value for a selected PCR");
    }
  }
  auto* pcrs = evidence->mutable_pcrs();
  std::sort(pcrs->begin(), pcrs->end(),
            [](const v1::PcrValue& a, const v1::PcrValue& b) { return a.index() < b.index(); });
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> EsysAttestation::Unwrap(const v1::WrappedKey& wrapped) {
  if (transfer_ == ESYS_TR_NONE) {
    return absl::FailedPreconditionError("Unwrap: no transfer key was created");
  }
  absl::StatusOr<SecretBytes> kek;
  switch (wrapped.scheme()) {
    case v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP:
      kek = EcdhKek(wrapped);
      break;
    case v1::WRAP_SCHEME_RSA_OAEP_SHA256_A256KWP:
      kek = RsaKek(wrapped);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported wrap scheme ", static_cast<int>(wrapped.scheme())));
  }
  if (!kek.ok()) return kek.status();
  absl::StatusOr<SecretBytes> key = UnwrapWithKek(*kek, wrapped);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat("unwrapping the disk key with the transfer key's KEK: ",
                                     key.status().message()));
  }
  return key;
}

absl::StatusOr<SecretBytes> EsysAttestation::EcdhKek(const v1::WrappedKey& wrapped) {
  if (transfer_type_ != TPM2_ALG_ECC) {
    return absl::InvalidArgumentError("ECDH wrap scheme, but the transfer key is not ECC");
  }
  ASSIGN_OR_RETURN(TPM2B_ECC_POINT point, ParseP256Point(wrapped.ephemeral_public()));
  TPM2B_ECC_POINT* raw_out = nullptr;
  TSS2_RC rc = Esys_ECDH_ZGen(ctx_.get(), transfer_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                              &point, &raw_out);
  SecretEsysPtr<TPM2B_ECC_POINT> out(raw_out);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_ECDH_ZGen(transfer key)", rc, true);
  const TPM2B_ECC_PARAMETER& x = out->point.x;
  if (x.size > kEcP256Bytes) return absl::InternalError("ECDH_ZGen: Z longer than 32 bytes");
  SecretBytes z(kEcP256Bytes);  // zero-filled: left-pads a short x-coordinate
  std::memcpy(z.data() + (kEcP256Bytes - x.size), x.buffer, x.size);
  return DeriveEcdhWrapKek(z, wrapped.ephemeral_public(), transfer_public_);
}

absl::StatusOr<SecretBytes> EsysAttestation::RsaKek(const v1::WrappedKey& wrapped) {
  if (transfer_type_ != TPM2_ALG_RSA) {
    return absl::InvalidArgumentError("RSA-OAEP wrap scheme, but the transfer key is not RSA");
  }
  TPM2B_PUBLIC_KEY_RSA cipher{};
  const std::string& ct = wrapped.encrypted_kek();
  if (ct.empty() || ct.size() > sizeof(cipher.buffer)) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted_kek has a bad size (", ct.size(), " bytes)"));
  }
  cipher.size = ct.size();
  std::memcpy(cipher.buffer, ct.data(), ct.size());
  TPMT_RSA_DECRYPT scheme{};
  scheme.scheme = TPM2_ALG_OAEP;
  scheme.details.oaep.hashAlg = TPM2_ALG_SHA256;
  const TPM2B_DATA label{};
  TPM2B_PUBLIC_KEY_RSA* raw_msg = nullptr;
  TSS2_RC rc = Esys_RSA_Decrypt(ctx_.get(), transfer_, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                &cipher, &scheme, &label, &raw_msg);
  SecretEsysPtr<TPM2B_PUBLIC_KEY_RSA> msg(raw_msg);
  if (rc == TPM2_RC_FAILURE) {
    // libtpms (swtpm) reports an OAEP decoding failure as TPM_RC_FAILURE, not TPM_RC_VALUE.
    return absl::InvalidArgumentError(
        "Esys_RSA_Decrypt: the transfer key cannot decrypt encrypted_kek (wrapped to another "
        "key, or corrupted)");
  }
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_RSA_Decrypt(transfer key, OAEP)", rc, true);
  if (msg->size != 32) {
    return absl::InvalidArgumentError("RSA-OAEP decrypted KEK is not 32 bytes");
  }
  return SecretBytes(msg->buffer, msg->size);
}

}  // namespace kb
