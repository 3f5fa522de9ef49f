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
absl::StatusOr<std::vector<X509Ptr>> ReadPemCertificates(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  std::vector<X509Ptr> certs;
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    certs.emplace_back(cert);
  }
  const unsigned long err = ERR_peek_last_error();
  if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
    ERR_clear_error();  // the normal end of the input
  } else if (err != 0) {
    return OpenSslError("malformed PEM certificate", absl::StatusCode::kInvalidArgument);
  }
  return certs;
}

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

absl::StatusOr<X509Ptr> ParseCertificate(absl::string_view der_or_pem) {
  if (absl::StrContains(der_or_pem, "-----BEGIN CERTIFICATE-----")) {
    auto certs = ReadPemCertificates(der_or_pem);
    if (!certs.ok()) return certs.status();
    // A THIM-style bundle (leaf, ASK, ARK) is accepted; only its first certificate is used.
    if (certs->empty()) return absl::InvalidArgumentError("no PEM certificate found");
    return std::move(certs->front());
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der_or_pem.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der_or_pem.size())));
  if (!cert) {
    return OpenSslError("certificate is neither PEM nor DER X.509",
                        absl::StatusCode::kInvalidArgument);
  }
  const auto consumed =
      static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(der_or_pem.data()));
  if (consumed != der_or_pem.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("DER certificate followed by ", der_or_pem.size() - consumed, " bytes"));
  }
  return cert;
}

}  // namespace kb
