#ifndef KB_KEYBROKER_VERIFIERS_SNP_AMD_ROOTS_H_
#define KB_KEYBROKER_VERIFIERS_SNP_AMD_ROOTS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"
#include "keybroker/verifiers/snp/snp_report.h"

namespace kb {

// An AMD certificate chain above a VCEK or VLEK: the intermediate (ASK for VCEKs, ASVK for
// VLEKs) and the self-signed AMD Root Key (ARK).
struct AmdChain {
  X509Ptr intermediate;
  X509Ptr ark;
};

// The PEM bundle (intermediate then ARK) built into the binary for `product` and `signer`,
// from keybroker/verifiers/snp/roots/. NOT_FOUND for kUnknown products or SnpSigner::kNone.
absl::StatusOr<absl::string_view> BuiltinAmdChainPem(SnpProduct product, SnpSigner signer);

// Parses a PEM bundle of exactly two certificates, the ASK/ASVK and the ARK, in either order
// (the ARK is the self-issued one). INVALID_ARGUMENT if it is not that.
absl::StatusOr<AmdChain> ParseAmdChainPem(absl::string_view pem);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_AMD_ROOTS_H_
