#include "unlocker/esys/esys_tpm.h"

#include <utility>

#include "common/status_macros.h"

namespace kb {

EsysTpm::EsysTpm(std::unique_ptr<EsysContext> ctx, uint32_t offline_nv_index)
    : ctx_(std::move(ctx)),
      attestation_(ctx_.get()),
      sealing_(ctx_.get(), offline_nv_index),
      nv_(ctx_.get()),
      endorsement_(ctx_.get(), &nv_, &attestation_) {}

absl::StatusOr<std::unique_ptr<EsysTpm>> EsysTpm::Create(const EsysTpmOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<EsysContext> ctx, EsysContext::Open(options.tcti));
  std::unique_ptr<EsysTpm> tpm(new EsysTpm(std::move(ctx), options.offline_nv_index));
  RETURN_IF_ERROR(tpm->UseAttestationKey(options.ak_handle, options.create_ak));
  return tpm;
}

absl::StatusOr<bool> EsysNvIndexDefined(const std::string& tcti, uint32_t index) {
  ASSIGN_OR_RETURN(std::unique_ptr<EsysContext> ctx, EsysContext::Open(tcti));
  return ctx->HandleExists(index);
}

}  // namespace kb
