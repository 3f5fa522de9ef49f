#include "unlocker/esys/esys_context.h"

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "absl/strings/str_cat.h"
#include "unlocker/esys/esys_util.h"

namespace kb {

void EsysContext::TctiDeleter::operator()(TSS2_TCTI_CONTEXT* tcti) const {
  Tss2_TctiLdr_Finalize(&tcti);
}

void EsysContext::EsysDeleter::operator()(ESYS_CONTEXT* ctx) const { Esys_Finalize(&ctx); }

absl::StatusOr<std::unique_ptr<EsysContext>> EsysContext::Open(const std::string& tcti) {
  std::unique_ptr<EsysContext> ctx(new EsysContext());
  TSS2_TCTI_CONTEXT* raw_tcti = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &raw_tcti);
  if (rc != TSS2_RC_SUCCESS) {
    return absl::UnavailableError(
        absl::StrCat("TPM unreachable via TCTI \"", tcti, "\": ", Tss2_RC_Decode(rc)));
  }
  ctx->tcti_.reset(raw_tcti);
  ESYS_CONTEXT* raw_esys = nullptr;
  rc = Esys_Initialize(&raw_esys, ctx->tcti_.get(), nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    return absl::UnavailableError(absl::StrCat("TPM unusable via TCTI \"", tcti,
                                               "\": Esys_Initialize: ", Tss2_RC_Decode(rc)));
  }
  ctx->esys_.reset(raw_esys);
  return ctx;
}

absl::StatusOr<bool> EsysContext::HandleExists(uint32_t handle) {
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  TSS2_RC rc = Esys_GetCapability(esys_.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_HANDLES, handle, 1, &more, &raw);
  EsysPtr<TPMS_CAPABILITY_DATA> caps(raw);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_GetCapability(handles)", rc);
  return caps->data.handles.count > 0 && caps->data.handles.handle[0] == handle;
}

}  // namespace kb
