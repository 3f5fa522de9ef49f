#ifndef KB_KEYBROKER_VERIFIERS_TDX_PCK_EXTENSIONS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_PCK_EXTENSIONS_H_

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {
namespace tdx {

// The Intel SGX extension (OID 1.2.840.113741.1.13.1) of a PCK certificate.
struct PckCertInfo {
  std::string ppid;                    // 16 bytes
  std::array<uint8_t, 16> comp_svn{};  // SGX TCB components 1..16
  uint16_t pce_svn = 0;
  std::string cpu_svn;  // 16 bytes
  std::string pce_id;   // 2 bytes
  std::string fmspc;    // 6 bytes
};

// Reads the SGX extension of `cert`. INVALID_ARGUMENT if it is missing, malformed (a strict
// DER walk, never reading past the extension) or lacks PPID/TCB/PCE-ID/FMSPC.
absl::StatusOr<PckCertInfo> ParsePckExtensions(X509* cert);

// Same, over the DER bytes of the extension value (exposed for tests and fuzzing).
absl::StatusOr<PckCertInfo> ParseSgxExtensionDer(absl::string_view der);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_PCK_EXTENSIONS_H_
