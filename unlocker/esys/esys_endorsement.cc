// EsysEndorsement: the endorsement key, for proving the AK to the broker (TpmEndorsement).
#include "unlocker/esys/esys_endorsement.h"

#include <tss2/tss2_mu.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "unlocker/esys/esys_util.h"
#include "unlocker/tpm/ek_templates.h"

namespace kb {
namespace {

// The DER certificate at the start of `nv` (NV indices may be padded after it).
absl::StatusOr<std::string> DerPrefix(const std::string& nv, uint32_t index) {
  auto bad = [index](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("EK certificate in NV 0x%08x: %s", index, why));
  };
  if (nv.size() < 2 || static_cast<uint8_t>(nv[0]) != 0x30) return bad("not DER");
  const uint8_t first = static_cast<uint8_t>(nv[1]);
  size_t header = 2, length = first;
  if (first & 0x80) {
    const size_t n = first & 0x7f;
    if (n == 0 || n > 3 || nv.size() < 2 + n) return bad("bad DER length");
    length = 0;
    for (size_t i = 0; i < n; ++i) length = (length << 8) | static_cast<uint8_t>(nv[2 + i]);
    header += n;
  }
  if (header + length > nv.size()) return bad("truncated");
  return nv.substr(0, header + length);
}

template <typename T, typename Fn>
absl::StatusOr<T> Unmarshal(Fn fn, absl::string_view bytes, absl::string_view what) {
  T out{};
  size_t offset = 0;
  if (fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &offset, &out) !=
          TSS2_RC_SUCCESS ||
      offset != bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": malformed"));
  }
  return out;
}

}  // namespace

absl::StatusOr<EkCertificate> EsysEndorsement::ReadEkCertificate() {
  for (const auto& [index, type] : {std::pair{kRsaEkCertIndex, EkType::kRsa2048},
                                    std::pair{kEccEkCertIndex, EkType::kEccP256}}) {
    ASSIGN_OR_RETURN(bool defined, nv_.NvDefined(index));
    if (!defined) continue;
    ASSIGN_OR_RETURN(std::string nv, nv_.NvRead(index));
    EkCertificate out;
    out.type = type;
    ASSIGN_OR_RETURN(out.der, DerPrefix(nv, index));
    return out;
  }
  return absl::NotFoundError(
      "the TPM has no EK certificate (NV 0x01c00002 RSA 2048 / 0x01c0000a ECC P-256)");
}

// The EK: the persistent one at the conventional handle when it has the template's type, else
// a primary key from the default template (`*transient` tells the caller to flush it).
absl::StatusOr<ESYS_TR> EsysEndorsement::LoadEk(EkType type, bool* transient) {
  const uint32_t handle = type == EkType::kRsa2048 ? kRsaEkHandle : kEccEkHandle;
  const TPMT_PUBLIC tmpl = EkTemplate(type);
  ASSIGN_OR_RETURN(bool persisted, ctx_.HandleExists(handle));
  if (persisted) {
    ESYS_TR ek = ESYS_TR_NONE;
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(ctx_.get(), handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ek);
    if (rc != TSS2_RC_SUCCESS) return TssError("Esys_TR_FromTPMPublic(EK)", rc);
    TPM2B_PUBLIC* raw_pub = nullptr;
    rc = Esys_ReadPublic(ctx_.get(), ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw_pub,
                         nullptr, nullptr);
    EsysPtr<TPM2B_PUBLIC> pub(raw_pub);
    if (rc == TSS2_RC_SUCCESS && pub->publicArea.type == tmpl.type &&
        pub->publicArea.objectAttributes == tmpl.objectAttributes) {
      *transient = false;
      return ek;
    }
    Esys_TR_Close(ctx_.get(), &ek);
  }
  TPM2B_PUBLIC in{};
  in.publicArea = tmpl;
  *transient = true;
  return CreatePrimary(ctx_.get(), ESYS_TR_RH_ENDORSEMENT, in, nullptr);
}

// A policy session satisfying the EK's authPolicy: PolicySecret(TPM_RH_ENDORSEMENT), with the
// (assumed empty) endorsement hierarchy auth.
absl::StatusOr<ESYS_TR> EsysEndorsement::EkPolicySession() {
  const TPMT_SYM_DEF symmetric{.algorithm = TPM2_ALG_NULL};
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(ctx_.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, ESYS_TR_NONE, nullptr, TPM2_SE_POLICY,
                                     &symmetric, TPM2_ALG_SHA256, &session);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_StartAuthSession(EK policy)", rc);
  TPM2B_TIMEOUT* timeout = nullptr;
  TPMT_TK_AUTH* ticket = nullptr;
  rc =
      Esys_PolicySecret(ctx_.get(), ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                        ESYS_TR_NONE, nullptr, nullptr, nullptr, 0, &timeout, &ticket);
  Esys_Free(timeout);
  Esys_Free(ticket);
  if (rc != TSS2_RC_SUCCESS) {
    Esys_FlushContext(ctx_.get(), session);
    return TssError("Esys_PolicySecret(endorsement)", rc);
  }
  return session;
}

absl::StatusOr<SecretBytes> EsysEndorsement::ActivateCredential(
    EkType type, absl::string_view credential_blob, absl::string_view encrypted_secret) {
  ASSIGN_OR_RETURN(auto blob, Unmarshal<TPM2B_ID_OBJECT>(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal,
                                                         credential_blob, "credential blob"));
  ASSIGN_OR_RETURN(auto secret,
                   Unmarshal<TPM2B_ENCRYPTED_SECRET>(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal,
                                                     encrypted_secret, "encrypted secret"));
  bool transient = false;
  ASSIGN_OR_RETURN(ESYS_TR ek, LoadEk(type, &transient));
  absl::Cleanup release_ek = [&] {
    if (transient) {
      Esys_FlushContext(ctx_.get(), ek);
    } else {
      Esys_TR_Close(ctx_.get(), &ek);
    }
  };
  ASSIGN_OR_RETURN(ESYS_TR session, EkPolicySession());
  absl::Cleanup flush_session = [&] { Esys_FlushContext(ctx_.get(), session); };
  TPM2B_DIGEST* raw = nullptr;
  TSS2_RC rc = Esys_ActivateCredential(ctx_.get(), attestation_.ak(), ek, ESYS_TR_PASSWORD, session,
                                       ESYS_TR_NONE, &blob, &secret, &raw);
  SecretEsysPtr<TPM2B_DIGEST> credential(raw);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_ActivateCredential", rc);
  return SecretBytes(credential->buffer, credential->size);
}

}  // namespace kb
