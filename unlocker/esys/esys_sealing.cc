// EsysSealing: the vTPM-sealed offline copy of a disk key, bounded by PCRs and an NV counter.
#include "unlocker/esys/esys_sealing.h"

#include <tss2/tss2_mu.h>

#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "unlocker/esys/esys_util.h"

namespace kb {
namespace {

// The storage root key: the TCG "SRK" template (ECC P-256, AES-128-CFB, restricted decrypt).
TPM2B_PUBLIC SrkTemplate() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.eccDetail.symmetric.keyBits.aes = 128;
  p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

TPML_PCR_SELECTION Selection(const std::vector<uint32_t>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (uint32_t p : pcrs) sel.pcrSelections[0].pcrSelect[p / 8] |= 1u << (p % 8);
  return sel;
}

TPM2B_OPERAND BigEndian(uint64_t v) {
  TPM2B_OPERAND op{};
  op.size = 8;
  for (int i = 7; i >= 0; --i, v >>= 8) op.buffer[i] = static_cast<uint8_t>(v & 0xff);
  return op;
}

// A TPM format-one response code (error number in bits 0-5, F bit set) regardless of which
// handle, parameter or session it names.
bool IsFormatOneError(TSS2_RC rc, TPM2_RC code) {
  return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) != 0 &&
         (rc & 0x3f) == (code & 0x3f);
}

void FlushHandle(ESYS_CONTEXT* esys, ESYS_TR handle) {
  if (handle != ESYS_TR_NONE) Esys_FlushContext(esys, handle);
}

absl::StatusOr<std::string> MarshalSealed(const TPM2B_PUBLIC& pub, const TPM2B_PRIVATE& priv) {
  std::string out(sizeof(pub) + sizeof(priv), '\0');
  size_t off = 0;
  auto* buf = reinterpret_cast<uint8_t*>(out.data());
  if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, out.size(), &off) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Marshal(&priv, buf, out.size(), &off) != TSS2_RC_SUCCESS) {
    return absl::InternalError("cannot marshal the sealed object");
  }
  out.resize(off);
  return out;
}

absl::Status UnmarshalSealed(const std::string& blob, TPM2B_PUBLIC* pub, TPM2B_PRIVATE* priv) {
  size_t off = 0;
  const auto* buf = reinterpret_cast<const uint8_t*>(blob.data());
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, blob.size(), &off, pub) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, blob.size(), &off, priv) != TSS2_RC_SUCCESS ||
      off != blob.size()) {
    return absl::InvalidArgumentError("sealed offline copy is malformed");
  }
  return absl::OkStatus();
}

absl::StatusOr<ESYS_TR> StartSession(ESYS_CONTEXT* esys, TPM2_SE type) {
  const TPMT_SYM_DEF symmetric{.algorithm = TPM2_ALG_NULL};
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, nullptr, type, &symmetric, TPM2_ALG_SHA256, &session);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_StartAuthSession", rc);
  return session;
}

}  // namespace

absl::StatusOr<ESYS_TR> EsysSealing::OfflineCounter(uint32_t nv_index, bool create) {
  ESYS_TR nv = ESYS_TR_NONE;
  if (Esys_TR_FromTPMPublic(ctx_.get(), nv_index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv) ==
      TSS2_RC_SUCCESS) {
    return nv;
  }
  if (!create) {
    return absl::FailedPreconditionError(
        absl::StrFormat("offline counter NV index 0x%08x does not exist", nv_index));
  }
  TPM2B_NV_PUBLIC info{};
  info.nvPublic.nvIndex = nv_index;
  info.nvPublic.nameAlg = TPM2_ALG_SHA256;
  info.nvPublic.attributes = (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_AUTHREAD |
                             TPMA_NV_AUTHWRITE | TPMA_NV_NO_DA;
  info.nvPublic.dataSize = 8;
  const TPM2B_AUTH auth{};
  TSS2_RC rc = Esys_NV_DefineSpace(ctx_.get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &auth, &info, &nv);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_NV_DefineSpace(offline counter)", rc);
  // A counter is readable only after its first increment.
  rc = Esys_NV_Increment(ctx_.get(), nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_NV_Increment(offline counter)", rc);
  return nv;
}

absl::StatusOr<uint64_t> EsysSealing::ReadCounter(ESYS_TR nv) {
  TPM2B_MAX_NV_BUFFER* raw = nullptr;
  TSS2_RC rc =
      Esys_NV_Read(ctx_.get(), nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &raw);
  EsysPtr<TPM2B_MAX_NV_BUFFER> data(raw);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_NV_Read(offline counter)", rc);
  if (data->size != 8) return absl::InternalError("offline counter is not 8 bytes");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | data->buffer[i];
  return v;
}

absl::Status EsysSealing::ApplyOfflinePolicy(ESYS_TR session, ESYS_TR nv,
                                             const std::vector<uint32_t>& pcrs, uint64_t limit) {
  const TPM2B_DIGEST current{};  // empty: the TPM uses the PCRs' current values
  const TPML_PCR_SELECTION sel = Selection(pcrs);
  TSS2_RC rc =
      Esys_PolicyPCR(ctx_.get(), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_PolicyPCR", rc);
  const TPM2B_OPERAND operand = BigEndian(limit);
  rc = Esys_PolicyNV(ctx_.get(), nv, nv, session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                     &operand, 0, TPM2_EO_UNSIGNED_LT);
  if ((rc & ~TSS2_RC_LAYER_MASK) == TPM2_RC_POLICY) {
    return absl::ResourceExhaustedError("offline boot allowance used up");
  }
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_PolicyNV", rc);
  return absl::OkStatus();
}

absl::StatusOr<SealedKey> EsysSealing::SealOffline(const SecretBytes& key,
                                                   const std::vector<uint32_t>& pcrs,
                                                   uint32_t boots) {
  if (key.size() > sizeof(TPM2B_SENSITIVE_DATA::buffer)) {
    return absl::InvalidArgumentError("key too large to seal");
  }
  for (uint32_t p : pcrs) {
    if (p > 23) return absl::InvalidArgumentError("PCR index > 23");
  }
  ASSIGN_OR_RETURN(ESYS_TR nv, OfflineCounter(nv_index_, /*create=*/true));
  ASSIGN_OR_RETURN(uint64_t counter, ReadCounter(nv));
  SealedKey sealed{"", nv_index_, counter + boots + 1, pcrs};
  ASSIGN_OR_RETURN(ESYS_TR trial, StartSession(ctx_.get(), TPM2_SE_TRIAL));
  absl::Cleanup flush_trial = [&] { FlushHandle(ctx_.get(), trial); };
  RETURN_IF_ERROR(ApplyOfflinePolicy(trial, nv, pcrs, sealed.limit));
  TPM2B_DIGEST* raw_digest = nullptr;
  TSS2_RC rc = Esys_PolicyGetDigest(ctx_.get(), trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &raw_digest);
  EsysPtr<TPM2B_DIGEST> digest(raw_digest);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_PolicyGetDigest", rc);

  ASSIGN_OR_RETURN(ESYS_TR srk,
                   CreatePrimary(ctx_.get(), ESYS_TR_RH_OWNER, SrkTemplate(), nullptr));
  absl::Cleanup flush_srk = [&] { FlushHandle(ctx_.get(), srk); };
  TPM2B_SENSITIVE_CREATE sensitive{};
  absl::Cleanup wipe = [&] { OPENSSL_cleanse(&sensitive, sizeof(sensitive)); };
  sensitive.sensitive.data.size = static_cast<uint16_t>(key.size());
  memcpy(sensitive.sensitive.data.buffer, key.data(), key.size());
  TPM2B_PUBLIC tmpl{};
  tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
  tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
  tmpl.publicArea.objectAttributes =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA;
  tmpl.publicArea.authPolicy = *digest;
  tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  const TPM2B_DATA outside{};
  const TPML_PCR_SELECTION creation_pcr{};
  TPM2B_PRIVATE* out_priv = nullptr;
  TPM2B_PUBLIC* out_pub = nullptr;
  TPM2B_CREATION_DATA* cdata = nullptr;
  TPM2B_DIGEST* chash = nullptr;
  TPMT_TK_CREATION* ticket = nullptr;
  rc = Esys_Create(ctx_.get(), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &tmpl,
                   &outside, &creation_pcr, &out_priv, &out_pub, &cdata, &chash, &ticket);
  EsysPtr<TPM2B_PRIVATE> priv(out_priv);
  EsysPtr<TPM2B_PUBLIC> pub(out_pub);
  EsysPtr<TPM2B_CREATION_DATA> cd(cdata);
  EsysPtr<TPM2B_DIGEST> ch(chash);
  EsysPtr<TPMT_TK_CREATION> tk(ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_Create(sealed key)", rc);
  ASSIGN_OR_RETURN(sealed.blob, MarshalSealed(*pub, *priv));
  return sealed;
}

absl::StatusOr<SecretBytes> EsysSealing::UnsealOffline(const SealedKey& sealed,
                                                       uint64_t* remaining) {
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
  RETURN_IF_ERROR(UnmarshalSealed(sealed.blob, &pub, &priv));
  ASSIGN_OR_RETURN(ESYS_TR nv, OfflineCounter(sealed.nv_index, /*create=*/false));
  TSS2_RC rc = Esys_NV_Increment(ctx_.get(), nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_NV_Increment(offline counter)", rc);
  ASSIGN_OR_RETURN(uint64_t counter, ReadCounter(nv));
  if (remaining != nullptr)
    *remaining = counter + 1 < sealed.limit ? sealed.limit - counter - 1 : 0;
  ASSIGN_OR_RETURN(ESYS_TR srk,
                   CreatePrimary(ctx_.get(), ESYS_TR_RH_OWNER, SrkTemplate(), nullptr));
  absl::Cleanup flush_srk = [&] { FlushHandle(ctx_.get(), srk); };
  ESYS_TR object = ESYS_TR_NONE;
  rc = Esys_Load(ctx_.get(), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub,
                 &object);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_Load(sealed key)", rc);
  absl::Cleanup flush_object = [&] { FlushHandle(ctx_.get(), object); };
  ASSIGN_OR_RETURN(ESYS_TR session, StartSession(ctx_.get(), TPM2_SE_POLICY));
  absl::Cleanup flush_session = [&] { FlushHandle(ctx_.get(), session); };
  RETURN_IF_ERROR(ApplyOfflinePolicy(session, nv, sealed.pcrs, sealed.limit));
  TPM2B_SENSITIVE_DATA* raw = nullptr;
  rc = Esys_Unseal(ctx_.get(), object, session, ESYS_TR_NONE, ESYS_TR_NONE, &raw);
  SecretEsysPtr<TPM2B_SENSITIVE_DATA> data(raw);
  if (IsFormatOneError(rc, TPM2_RC_POLICY_FAIL)) {
    return absl::FailedPreconditionError("PCR values changed since the offline copy was sealed");
  }
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_Unseal(sealed key)", rc);
  return SecretBytes(data->buffer, data->size);
}

}  // namespace kb
