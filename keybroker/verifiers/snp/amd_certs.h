#ifndef KB_KEYBROKER_VERIFIERS_SNP_AMD_CERTS_H_
#define KB_KEYBROKER_VERIFIERS_SNP_AMD_CERTS_H_

#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/snp/snp_report.h"

namespace kb {

// The AMD extensions of a VCEK or VLEK certificate (OID arc 1.3.6.1.4.1.3704.1).
struct AmdKeyCertInfo {
  SnpSigner kind = SnpSigner::kVcek;  // from the subject CN ("SEV-VCEK" / "SEV-VLEK")
  std::string product_name;           // .2 productName, e.g. "Milan-B0"
  SnpProduct product = SnpProduct::kUnknown;
  bool has_fmc_spl = false;  // .3.9 present (Turin)
  uint8_t fmc_spl = 0;
  uint8_t bl_spl = 0;     // .3.1
  uint8_t tee_spl = 0;    // .3.2
  uint8_t snp_spl = 0;    // .3.3
  uint8_t ucode_spl = 0;  // .3.8
  std::string hw_id;      // .4 (VCEK only): 64 bytes (8 on Turin), OCTET STRING unwrapped
  std::string csp_id;     // .5 (VLEK only), raw extension value
};

// Reads the AMD extensions. INVALID_ARGUMENT if the subject is neither a VCEK nor a VLEK, an SPL
// or the product name is missing or malformed, or a VCEK has no usable hwID.
absl::StatusOr<AmdKeyCertInfo> ParseAmdKeyCert(X509* cert);

// Verifies ARK (self-signed, RSA-PSS) -> intermediate -> `leaf`, every certificate valid at
// `at`, the CAs marked as CAs, and the names naming `product` ("ARK-<p>", "SEV-<p>" or
// "SEV-VLEK-<p>" for a VLEK). UNAUTHENTICATED with the failing link otherwise.
absl::Status VerifyAmdChain(X509* leaf, const AmdChain& chain, SnpProduct product, SnpSigner kind,
                            absl::Time at);

// The span in which `leaf` and both certificates of `chain` are valid: the latest notBefore and
// the earliest notAfter; empty if a certificate's time does not decode.
std::pair<absl::Time, absl::Time> AmdChainValidity(X509* leaf, const AmdChain& chain);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_AMD_CERTS_H_
