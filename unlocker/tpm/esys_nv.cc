// EsysTpm: ordinary NV indices (TpmNv) and switching the attestation key.
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "unlocker/tpm/esys_tpm.h"
#include "unlocker/tpm/esys_util.h"

namespace kb {
namespace {

// Chunk size for NV reads and writes: at most MAX_NV_BUFFER_SIZE on any TPM we meet.
constexpr size_t kNvChunk = 512;

std::string Index(uint32_t index) { return absl::StrFormat("0x%08x", index); }

}  // namespace

absl::StatusOr<bool> EsysTpm::NvDefined(uint32_t index) { return PersistentHandleExists(index); }

absl::Status EsysTpm::NvDefine(uint32_t index, uint16_t size) {
  TPM2B_NV_PUBLIC info{};
  info.nvPublic.nvIndex = index;
  info.nvPublic.nameAlg = TPM2_ALG_SHA256;
  info.nvPublic.attributes = (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_OWNERREAD |
                             TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE |
                             TPMA_NV_NO_DA;
  info.nvPublic.dataSize = size;
  const TPM2B_AUTH auth{};
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc = Esys_NV_DefineSpace(esys_.get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &auth, &info, &nv);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError(absl::StrCat("Esys_NV_DefineSpace(", Index(index), ")"), rc);
  }
  Esys_TR_Close(esys_.get(), &nv);
  return absl::OkStatus();
}

absl::StatusOr<ESYS_TR> EsysTpm::NvHandle(uint32_t index) {
  ASSIGN_OR_RETURN(bool defined, NvDefined(index));
  if (!defined)
    return absl::NotFoundError(absl::StrCat("NV index ", Index(index), " is undefined"));
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_TR_FromTPMPublic(esys_.get(), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError(absl::StrCat("Esys_TR_FromTPMPublic(", Index(index), ")"), rc);
  }
  return nv;
}

absl::Status EsysTpm::NvWrite(uint32_t index, absl::string_view data) {
  ASSIGN_OR_RETURN(ESYS_TR nv, NvHandle(index));
  absl::Cleanup close = [&] { Esys_TR_Close(esys_.get(), &nv); };
  for (size_t at = 0; at < data.size(); at += kNvChunk) {
    TPM2B_MAX_NV_BUFFER buf{};
    buf.size = static_cast<uint16_t>(std::min(kNvChunk, data.size() - at));
    std::copy_n(data.data() + at, buf.size, buf.buffer);
    TSS2_RC rc = Esys_NV_Write(esys_.get(), ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &buf, static_cast<uint16_t>(at));
    if (rc != TSS2_RC_SUCCESS) {
      return TssError(absl::StrCat("Esys_NV_Write(", Index(index), ")"), rc);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EsysTpm::NvRead(uint32_t index) {
  ASSIGN_OR_RETURN(ESYS_TR nv, NvHandle(index));
  absl::Cleanup close = [&] { Esys_TR_Close(esys_.get(), &nv); };
  TPM2B_NV_PUBLIC* raw_pub = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  TSS2_RC rc = Esys_NV_ReadPublic(esys_.get(), nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &raw_pub, &raw_name);
  EsysPtr<TPM2B_NV_PUBLIC> pub(raw_pub);
  EsysPtr<TPM2B_NAME> name(raw_name);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError(absl::StrCat("Esys_NV_ReadPublic(", Index(index), ")"), rc);
  }
  // Owner authorization where the index allows it, else the index's own (empty) auth.
  const ESYS_TR auth = (pub->nvPublic.attributes & TPMA_NV_OWNERREAD) ? ESYS_TR_RH_OWNER : nv;
  const size_t size = pub->nvPublic.dataSize;
  std::string out;
  while (out.size() < size) {
    const uint16_t n = static_cast<uint16_t>(std::min(kNvChunk, size - out.size()));
    TPM2B_MAX_NV_BUFFER* raw = nullptr;
    rc = Esys_NV_Read(esys_.get(), auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
                      static_cast<uint16_t>(out.size()), &raw);
    EsysPtr<TPM2B_MAX_NV_BUFFER> chunk(raw);
    if (rc != TSS2_RC_SUCCESS) {
      return TssError(absl::StrCat("Esys_NV_Read(", Index(index), ")"), rc);
    }
    if (chunk->size == 0) break;
    out.append(reinterpret_cast<const char*>(chunk->buffer), chunk->size);
  }
  return out;
}

absl::Status EsysTpm::UseAttestationKey(uint32_t ak_handle, bool create_if_missing) {
  if ((ak_handle >> TPM2_HR_SHIFT) != TPM2_HT_PERSISTENT) {
    return absl::InvalidArgumentError(
        absl::StrFormat("AK handle 0x%08x is not a persistent handle", ak_handle));
  }
  ASSIGN_OR_RETURN(bool exists, PersistentHandleExists(ak_handle));
  if (!exists && !create_if_missing) {
    return absl::FailedPreconditionError(
        absl::StrFormat("no attestation key at persistent handle 0x%08x", ak_handle));
  }
  if (ak_ != ESYS_TR_NONE) Esys_TR_Close(esys_.get(), &ak_);
  ak_ = ESYS_TR_NONE;
  return exists ? LoadPersistentAk(ak_handle) : CreatePersistentAk(ak_handle);
}

absl::StatusOr<bool> EsysNvIndexDefined(const std::string& tcti, uint32_t index) {
  TSS2_TCTI_CONTEXT* raw_tcti = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &raw_tcti);
  if (rc != TSS2_RC_SUCCESS) {
    return absl::UnavailableError(
        absl::StrCat("TPM unreachable via TCTI \"", tcti, "\": ", Tss2_RC_Decode(rc)));
  }
  absl::Cleanup finalize_tcti = [&raw_tcti] { Tss2_TctiLdr_Finalize(&raw_tcti); };
  ESYS_CONTEXT* esys = nullptr;
  rc = Esys_Initialize(&esys, raw_tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_Initialize", rc);
  absl::Cleanup finalize_esys = [&esys] { Esys_Finalize(&esys); };
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, index,
                          1, &more, &raw);
  EsysPtr<TPMS_CAPABILITY_DATA> caps(raw);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_GetCapability(handles)", rc);
  return caps->data.handles.count > 0 && caps->data.handles.handle[0] == index;
}

}  // namespace kb
