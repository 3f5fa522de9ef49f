// EsysNv: ordinary NV indices (TpmNv).

#include "unlocker/esys/esys_nv.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "unlocker/esys/esys_util.h"

namespace kb {
namespace {

// Chunk size for NV reads and writes: at most MAX_NV_BUFFER_SIZE on any TPM we meet.
constexpr size_t kNvChunk = 512;

std::string Index(uint32_t index) { return absl::StrFormat("0x%08x", index); }

}  // namespace

absl::StatusOr<bool> EsysNv::NvDefined(uint32_t index) { return ctx_.HandleExists(index); }

absl::Status EsysNv::NvDefine(uint32_t index, uint16_t size) {
  TPM2B_NV_PUBLIC info{};
  info.nvPublic.nvIndex = index;
  info.nvPublic.nameAlg = TPM2_ALG_SHA256;
  info.nvPublic.attributes = (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_OWNERREAD |
                             TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE |
                             TPMA_NV_NO_DA;
  info.nvPublic.dataSize = size;
  const TPM2B_AUTH auth{};
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc = Esys_NV_DefineSpace(ctx_.get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &auth, &info, &nv);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError(absl::StrCat("Esys_NV_DefineSpace(", Index(index), ")"), rc);
  }
  Esys_TR_Close(ctx_.get(), &nv);
  return absl::OkStatus();
}

absl::StatusOr<ESYS_TR> EsysNv::NvHandle(uint32_t index) {
  ASSIGN_OR_RETURN(bool defined, NvDefined(index));
  if (!defined)
    return absl::NotFoundError(absl::StrCat("NV index ", Index(index), " is undefined"));
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_TR_FromTPMPublic(ctx_.get(), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError(absl::StrCat("Esys_TR_FromTPMPublic(", Index(index), ")"), rc);
  }
  return nv;
}

absl::Status EsysNv::NvWrite(uint32_t index, absl::string_view data) {
  ASSIGN_OR_RETURN(ESYS_TR nv, NvHandle(index));
  absl::Cleanup close = [&] { Esys_TR_Close(ctx_.get(), &nv); };
  for (size_t at = 0; at < data.size(); at += kNvChunk) {
    TPM2B_MAX_NV_BUFFER buf{};
    buf.size = static_cast<uint16_t>(std::min(kNvChunk, data.size() - at));
    std::copy_n(data.data() + at, buf.size, buf.buffer);
    TSS2_RC rc = Esys_NV_Write(ctx_.get(), ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &buf, static_cast<uint16_t>(at));
    if (rc != TSS2_RC_SUCCESS) {
      return TssError(absl::StrCat("Esys_NV_Write(", Index(index), ")"), rc);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EsysNv::NvRead(uint32_t index) {
  ASSIGN_OR_RETURN(ESYS_TR nv, NvHandle(index));
  absl::Cleanup close = [&] { Esys_TR_Close(ctx_.get(), &nv); };
  TPM2B_NV_PUBLIC* raw_pub = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  TSS2_RC rc = Esys_NV_ReadPublic(ctx_.get(), nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
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
    rc = Esys_NV_Read(ctx_.get(), auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
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

}  // namespace kb
