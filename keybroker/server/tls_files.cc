#include "keybroker/server/tls_files.h"

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"

namespace kb {
namespace {

absl::Status InFile(absl::string_view field, const std::string& path, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(field, " ", path, ": ", s.message()));
}

absl::StatusOr<std::vector<X509Ptr>> Certificates(absl::string_view field,
                                                  const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok()) return InFile(field, path, pem.status());
  auto certs = ReadPemCertificates(*pem);
  if (!certs.ok()) return InFile(field, path, certs.status());
  if (certs->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", path, " holds no certificate"));
  }
  return certs;
}

absl::StatusOr<EvpPkeyPtr> PrivateKey(const std::string& path) {
  auto pem = ReadSecretFile(path);
  if (!pem.ok()) return InFile("tls_key_file", path, pem.status());
  auto key = ParsePemPrivateKey(pem->view());
  if (!key.ok()) return InFile("tls_key_file", path, key.status());
  return key;
}

absl::Status CheckValidity(X509* cert, const std::string& path, absl::Time now) {
  const absl::Time not_before = Asn1Time(X509_get0_notBefore(cert), absl::InfiniteFuture());
  const absl::Time not_after = Asn1Time(X509_get0_notAfter(cert), absl::InfinitePast());
  if (now < not_before) {
    return absl::FailedPreconditionError(
        absl::StrCat("tls_cert_file ", path, ": the certificate is not valid before ",
                     absl::FormatTime(not_before), " and this host's clock reads ",
                     absl::FormatTime(now), " (check the clock)"));
  }
  if (now > not_after) {
    return absl::FailedPreconditionError(
        absl::StrCat("tls_cert_file ", path, ": the certificate expired at ",
                     absl::FormatTime(not_after), " (renew it; docs/tls.md)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTlsFiles(const v1::BrokerConfig& config, absl::Time now) {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                   Certificates("tls_cert_file", config.tls_cert_file()));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, PrivateKey(config.tls_key_file()));
  if (!PrivateKeyMatches(chain.front().get(), key.get())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tls_key_file ", config.tls_key_file(), " is not the private key of the certificate in ",
        "tls_cert_file ", config.tls_cert_file()));
  }
  RETURN_IF_ERROR(CheckValidity(chain.front().get(), config.tls_cert_file(), now));
  return Certificates("operator_ca_file", config.operator_ca_file()).status();
}

}  // namespace kb
