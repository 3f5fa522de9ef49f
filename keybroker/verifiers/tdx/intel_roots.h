#ifndef KB_KEYBROKER_VERIFIERS_TDX_INTEL_ROOTS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_INTEL_ROOTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"

namespace kb {
namespace tdx {

// The production Intel SGX Root CA, embedded at build time from
// keybroker/verifiers/tdx/roots/intel_sgx_root_ca.pem.
absl::string_view EmbeddedIntelSgxRootCaPem();

// What TDX verification trusts. Immutable once built; safe to share across threads.
struct IntelTrustAnchors {
  // Roots every PCK chain and collateral issuer chain must end in (byte-equal for the PCK
  // chain's own root).
  std::vector<X509Ptr> roots;
  // Optional pinned "Intel SGX TCB Signing" certificates whose KEY is accepted for collateral
  // signatures without checking the certificate's validity period. Intel keeps this key across
  // re-issued certificates (the 2018 certificate expired 2025-05-21); pinning is an explicit
  // operator decision, never a default.
  std::vector<X509Ptr> pinned_tcb_signers;

  // The embedded Intel SGX Root CA, no pins. INTERNAL if the embedded PEM does not parse.
  static absl::StatusOr<IntelTrustAnchors> Default();
  // Roots (and optional pins) from PEM text. INVALID_ARGUMENT if either does not parse or
  // `roots_pem` holds no certificate.
  static absl::StatusOr<IntelTrustAnchors> FromPem(absl::string_view roots_pem,
                                                   absl::string_view pinned_tcb_signers_pem = "");
};

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_INTEL_ROOTS_H_
