#include "keybroker/verifiers/snp/amd_roots.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kb {
namespace amd_roots_internal {
// Defined in the generated amd_roots_data.cc (see amd_roots_data.cc.in).
extern const char kAskArkMilanPem[];
extern const char kAsvkArkMilanPem[];
extern const char kAskArkGenoaPem[];
extern const char kAsvkArkGenoaPem[];
extern const char kAskArkTurinPem[];
extern const char kAsvkArkTurinPem[];
}  // namespace amd_roots_internal

namespace {

// Reads every PEM certificate in `pem`; INVALID_ARGUMENT on a malformed block.
bool SelfIssued(X509* cert) {
  return X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0;
}

}  // namespace

absl::StatusOr<absl::string_view> BuiltinAmdChainPem(SnpProduct product, SnpSigner signer) {
  namespace d = amd_roots_internal;
  const bool vlek = signer == SnpSigner::kVlek;
  if (signer != SnpSigner::kVcek && !vlek) {
    return absl::NotFoundError("no AMD chain for a report without a VCEK or VLEK signer");
  }
  switch (product) {
    case SnpProduct::kMilan:
      return absl::string_view(vlek ? d::kAsvkArkMilanPem : d::kAskArkMilanPem);
    case SnpProduct::kGenoa:
      return absl::string_view(vlek ? d::kAsvkArkGenoaPem : d::kAskArkGenoaPem);
    case SnpProduct::kTurin:
      return absl::string_view(vlek ? d::kAsvkArkTurinPem : d::kAskArkTurinPem);
    default:
      return absl::NotFoundError("no built-in AMD chain for an unknown product");
  }
}

absl::StatusOr<AmdChain> ParseAmdChainPem(absl::string_view pem) {
  auto certs = ReadPemCertificates(pem);
  if (!certs.ok()) return certs.status();
  if (certs->size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AMD chain must hold exactly 2 PEM certificates (ASK/ASVK and ARK), got ", certs->size()));
  }
  AmdChain chain;
  const bool first_is_ark = SelfIssued((*certs)[0].get());
  chain.ark = std::move((*certs)[first_is_ark ? 0 : 1]);
  chain.intermediate = std::move((*certs)[first_is_ark ? 1 : 0]);
  if (!SelfIssued(chain.ark.get()) || SelfIssued(chain.intermediate.get())) {
    return absl::InvalidArgumentError(
        "AMD chain must hold one self-issued ARK and one ASK/ASVK issued by it");
  }
  return chain;
}

}  // namespace kb
