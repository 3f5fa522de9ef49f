#ifndef KB_UNLOCKER_ESYS_ESYS_NV_H_
#define KB_UNLOCKER_ESYS_ESYS_NV_H_

#include <tss2/tss2_esys.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/esys/esys_context.h"
#include "unlocker/tpm/tpm_nv.h"

namespace kb {

// The NV role of EsysTpm: ordinary NV indices (kb::TpmNv). Not thread-safe.
class EsysNv final : public TpmNv {
 public:
  explicit EsysNv(EsysContext* ctx) : ctx_(*ctx) {}

  absl::StatusOr<bool> NvDefined(uint32_t index) override;
  absl::Status NvDefine(uint32_t index, uint16_t size) override;
  absl::Status NvWrite(uint32_t index, absl::string_view data) override;
  absl::StatusOr<std::string> NvRead(uint32_t index) override;

 private:
  absl::StatusOr<ESYS_TR> NvHandle(uint32_t index);

  EsysContext& ctx_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_NV_H_
