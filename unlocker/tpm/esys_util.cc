#include "unlocker/tpm/esys_util.h"

#include <tss2/tss2_rc.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kb {
namespace {

bool IsConnectionError(TSS2_RC rc) {
  const TSS2_RC base = rc & ~TSS2_RC_LAYER_MASK;
  return (rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
         (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION);
}

// Format-one TPM response codes name a faulty parameter, handle or session (TPM 2.0 Part 2,
// 6.6.3); in handle/parameter position they report bad input such as an off-curve point.
bool IsTpmParameterError(TSS2_RC rc) {
  return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) != 0 &&
         (rc & TPM2_RC_P) != 0;
}

}  // namespace

absl::Status TssError(absl::string_view op, TSS2_RC rc, bool bad_input_is_caller_error) {
  const std::string msg =
      absl::StrCat(op, " failed: ", Tss2_RC_Decode(rc), absl::StrFormat(" (0x%x)", rc));
  if (IsConnectionError(rc)) return absl::UnavailableError(msg);
  if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER) {
    if (bad_input_is_caller_error && IsTpmParameterError(rc)) {
      return absl::InvalidArgumentError(msg);
    }
    return absl::FailedPreconditionError(msg);
  }
  return absl::InternalError(msg);
}

}  // namespace kb
