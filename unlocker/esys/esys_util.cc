#include "unlocker/esys/esys_util.h"

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

// Creates a primary key; returns its handle and (optionally) its public area.
absl::StatusOr<ESYS_TR> CreatePrimary(ESYS_CONTEXT* esys, ESYS_TR hierarchy,
                                      const TPM2B_PUBLIC& tmpl, TPMT_PUBLIC* out) {
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_DATA outside_info{};
  const TPML_PCR_SELECTION creation_pcr{};
  ESYS_TR handle = ESYS_TR_NONE;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* creation_ticket = nullptr;
  TSS2_RC rc = Esys_CreatePrimary(esys, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &sensitive, &tmpl, &outside_info, &creation_pcr, &handle,
                                  &out_public, &creation_data, &creation_hash, &creation_ticket);
  EsysPtr<TPM2B_PUBLIC> pub(out_public);
  EsysPtr<TPM2B_CREATION_DATA> data(creation_data);
  EsysPtr<TPM2B_DIGEST> hash(creation_hash);
  EsysPtr<TPMT_TK_CREATION> ticket(creation_ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_CreatePrimary", rc);
  if (out != nullptr) *out = pub->publicArea;
  return handle;
}

}  // namespace kb
