#include "keybroker/verifiers/tdx/intel_roots.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace tdx {

absl::string_view EmbeddedIntelSgxRootCaPem() {
  static constexpr char kPem[] =
#include "intel_roots_data.inc"
      ;
  return absl::string_view(kPem, sizeof(kPem) - 1);
}

absl::StatusOr<IntelTrustAnchors> IntelTrustAnchors::Default() {
  auto anchors = FromPem(EmbeddedIntelSgxRootCaPem());
  if (!anchors.ok()) {
    return absl::InternalError(
        absl::StrCat("embedded Intel SGX Root CA: ", anchors.status().message()));
  }
  return anchors;
}

absl::StatusOr<IntelTrustAnchors> IntelTrustAnchors::FromPem(
    absl::string_view roots_pem, absl::string_view pinned_tcb_signers_pem) {
  IntelTrustAnchors anchors;
  ASSIGN_OR_RETURN(anchors.roots, ParsePemCertChain(roots_pem));
  if (!pinned_tcb_signers_pem.empty()) {
    ASSIGN_OR_RETURN(anchors.pinned_tcb_signers, ParsePemCertChain(pinned_tcb_signers_pem));
  }
  return anchors;
}

}  // namespace tdx
}  // namespace kb
