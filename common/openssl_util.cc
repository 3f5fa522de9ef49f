#include "common/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kb {

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string detail;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (detail.empty()) detail = buf;
  }
  if (detail.empty()) return absl::Status(code, what);
  return absl::Status(code, absl::StrCat(what, ": ", detail));
}

absl::Time Asn1Time(const ASN1_TIME* t, absl::Time missing) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return missing;
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string NameText(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

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

absl::StatusOr<EvpPkeyPtr> ParsePemPrivateKey(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return absl::InvalidArgumentError("holds no PEM private key");
  return key;
}

bool PrivateKeyMatches(X509* cert, EVP_PKEY* key) {
  const bool match = X509_check_private_key(cert, key) == 1;
  ERR_clear_error();
  return match;
}

EvpPkeyPtr KeyFromParams(const char* type, int selection, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>> params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, selection, params.get()) != 1) {
    return nullptr;
  }
  return EvpPkeyPtr(key);
}

}  // namespace kb
