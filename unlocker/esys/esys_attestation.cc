// EsysAttestation: the attestation key and transfer key creation. Certify, Quote and Unwrap
// are in esys_attestation_ops.cc.
#include "unlocker/esys/esys_attestation.h"

#include <openssl/rand.h>
#include <tss2/tss2_rc.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "unlocker/esys/esys_util.h"
#include "unlocker/tpm/key_templates.h"

namespace kb {
namespace {

// The AK template (see key_templates.h) as ESYS wants it.
TPM2B_PUBLIC AkPublicTemplate() {
  TPM2B_PUBLIC t{};
  t.publicArea = AkTemplate();
  return t;
}

// A decrypt-only transfer key template with a random `unique`, so that each CreatePrimary in
// the NULL hierarchy derives a different key.
absl::StatusOr<TPM2B_PUBLIC> TransferTemplate(TransferKeyType type) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p = TransferKeyTemplate(type);
  if (p.type == TPM2_ALG_ECC) {
    p.unique.ecc.x.size = p.unique.ecc.y.size = 32;
    if (RAND_bytes(p.unique.ecc.x.buffer, 32) != 1 || RAND_bytes(p.unique.ecc.y.buffer, 32) != 1) {
      return OpenSslError("RAND_bytes(transfer key unique)");
    }
    return t;
  }
  p.unique.rsa.size = p.parameters.rsaDetail.keyBits / 8;
  if (RAND_bytes(p.unique.rsa.buffer, p.unique.rsa.size) != 1) {
    return OpenSslError("RAND_bytes(transfer key unique)");
  }
  return t;
}

}  // namespace

EsysAttestation::~EsysAttestation() { FlushTransferKey(); }

absl::Status EsysAttestation::LoadPersistentAk(uint32_t ak_handle) {
  ESYS_TR loaded = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(ctx_.get(), ak_handle, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &loaded);
  if ((rc & ~TPM2_RC_N_MASK) == TPM2_RC_HANDLE) {  // TPM_RC_HANDLE (of any handle number)
    return absl::NotFoundError(absl::StrFormat(
        "no attestation key at persistent handle 0x%08x (TPM_RC_HANDLE: nothing there, or its "
        "hierarchy is disabled)",
        ak_handle));
  }
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_TR_FromTPMPublic(AK)", rc);
  absl::Cleanup close_loaded = [&] { Esys_TR_Close(ctx_.get(), &loaded); };
  TPM2B_PUBLIC* raw_pub = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  TPM2B_NAME* raw_qname = nullptr;
  rc = Esys_ReadPublic(ctx_.get(), loaded, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw_pub,
                       &raw_name, &raw_qname);
  EsysPtr<TPM2B_PUBLIC> pub(raw_pub);
  EsysPtr<TPM2B_NAME> name(raw_name);
  EsysPtr<TPM2B_NAME> qname(raw_qname);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_ReadPublic(AK)", rc);
  const TPMA_OBJECT attrs = pub->publicArea.objectAttributes;
  const TPMA_OBJECT required =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  if ((attrs & required) != required || (attrs & TPMA_OBJECT_DECRYPT) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "object at AK handle 0x%08x is not a fixedTPM restricted signing key (attributes "
        "0x%08x)",
        ak_handle, attrs));
  }
  RETURN_IF_ERROR(SetAkPublic(pub->publicArea));
  // Only a key that loaded and checked replaces the one in use.
  std::move(close_loaded).Cancel();
  if (ak_ != ESYS_TR_NONE) Esys_TR_Close(ctx_.get(), &ak_);
  ak_ = loaded;
  return absl::OkStatus();
}

absl::Status EsysAttestation::CreatePersistentAk(uint32_t ak_handle) {
  ASSIGN_OR_RETURN(ESYS_TR transient,
                   CreatePrimary(ctx_.get(), ESYS_TR_RH_ENDORSEMENT, AkPublicTemplate(), nullptr));
  ESYS_TR persistent = ESYS_TR_NONE;
  TSS2_RC rc = Esys_EvictControl(ctx_.get(), ESYS_TR_RH_OWNER, transient, ESYS_TR_PASSWORD,
                                 ESYS_TR_NONE, ESYS_TR_NONE, ak_handle, &persistent);
  Esys_FlushContext(ctx_.get(), transient);  // the persistent copy is what we keep
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_EvictControl(persist AK)", rc);
  Esys_TR_Close(ctx_.get(), &persistent);  // loaded again below, with its checks
  return LoadPersistentAk(ak_handle);
}

absl::Status EsysAttestation::SetAkPublic(const TPMT_PUBLIC& pub) {
  ASSIGN_OR_RETURN(ak_public_, MarshalTpmtPublic(pub));
  ak_scheme_ = TPMT_SIG_SCHEME{};
  ak_scheme_.scheme = TPM2_ALG_NULL;
  const TPMI_ALG_ASYM_SCHEME key_scheme = pub.type == TPM2_ALG_ECC
                                              ? pub.parameters.eccDetail.scheme.scheme
                                              : pub.parameters.rsaDetail.scheme.scheme;
  if (key_scheme != TPM2_ALG_NULL) return absl::OkStatus();  // the TPM uses the key's scheme
  // A restricted signing key without a fixed scheme: sign with SHA-256.
  ak_scheme_.scheme = pub.type == TPM2_ALG_ECC ? TPM2_ALG_ECDSA : TPM2_ALG_RSASSA;
  ak_scheme_.details.any.hashAlg = TPM2_ALG_SHA256;
  return absl::OkStatus();
}

absl::StatusOr<std::string> EsysAttestation::AttestationKeyPublic() { return ak_public_; }

void EsysAttestation::FlushTransferKey() {
  if (transfer_ == ESYS_TR_NONE) return;
  Esys_FlushContext(ctx_.get(), transfer_);  // best effort; a TPM reset also drops it
  transfer_ = ESYS_TR_NONE;
  transfer_type_ = TPM2_ALG_NULL;
  transfer_public_.clear();
}

absl::StatusOr<std::string> EsysAttestation::CreateTransferKey(TransferKeyType type) {
  FlushTransferKey();
  ASSIGN_OR_RETURN(TPM2B_PUBLIC tmpl, TransferTemplate(type));
  TPMT_PUBLIC pub{};
  ASSIGN_OR_RETURN(ESYS_TR handle, CreatePrimary(ctx_.get(), ESYS_TR_RH_NULL, tmpl, &pub));
  absl::StatusOr<std::string> bytes = MarshalTpmtPublic(pub);
  if (!bytes.ok()) {
    Esys_FlushContext(ctx_.get(), handle);
    return bytes.status();
  }
  transfer_ = handle;
  transfer_type_ = pub.type;
  transfer_public_ = *bytes;
  return std::move(bytes).value();
}

absl::Status EsysAttestation::UseAttestationKey(uint32_t ak_handle, bool create_if_missing) {
  if ((ak_handle >> TPM2_HR_SHIFT) != TPM2_HT_PERSISTENT) {
    return absl::InvalidArgumentError(
        absl::StrFormat("AK handle 0x%08x is not a persistent handle", ak_handle));
  }
  // Loaded straight away: Esys_TR_FromTPMPublic's ReadPublic says whether the key exists, so
  // asking the TPM first (GetCapability) would be one more command at every boot. On any error
  // the key in use, if any, stays in use.
  const absl::Status loaded = LoadPersistentAk(ak_handle);
  if (!absl::IsNotFound(loaded)) return loaded;
  if (!create_if_missing) return absl::FailedPreconditionError(loaded.message());
  const absl::Status created = CreatePersistentAk(ak_handle);
  if (created.ok()) return created;
  return absl::Status(
      created.code(),
      absl::StrCat(loaded.message(), "; creating one there failed: ", created.message()));
}

}  // namespace kb
