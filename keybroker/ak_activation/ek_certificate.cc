#include "keybroker/ak_activation/ek_certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace kb {
namespace {

using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;

constexpr absl::string_view kParse = "ek_certificate_parse";
constexpr absl::string_view kChain = "ek_certificate_chain";

// Every certificate in `pem`, in order.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  while (bio) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the read that ends the loop leaves "no start line"
  return out;
}

bool SelfSigned(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

std::string OneLine(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len > 0 ? len : 0);
}

}  // namespace

absl::Status ActivationCheckFailed(absl::string_view check, absl::StatusCode code,
                                   absl::string_view detail) {
  return absl::Status(code, absl::StrCat("activation check '", check, "' failed: ", detail));
}

absl::StatusOr<std::unique_ptr<EkCertificateVerifier>> EkCertificateVerifier::FromPemFiles(
    const std::vector<std::string>& paths) {
  std::vector<std::string> pems;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
    if (ReadCertificates(pem).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ek_ca_files: ", path, " holds no PEM certificate"));
    }
    pems.push_back(std::move(pem));
  }
  return FromPem(pems);
}

absl::StatusOr<std::unique_ptr<EkCertificateVerifier>> EkCertificateVerifier::FromPem(
    const std::vector<std::string>& pems) {
  StorePtr store(X509_STORE_new());
  StackPtr intermediates(sk_X509_new_null());
  if (!store || !intermediates) return OpenSslError("X509_STORE_new");
  size_t roots = 0;
  for (const std::string& pem : pems) {
    for (X509Ptr& cert : ReadCertificates(pem)) {
      if (SelfSigned(cert.get())) {
        if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
          return OpenSslError("ek_ca_files: adding a root", absl::StatusCode::kInvalidArgument);
        }
        ++roots;
      } else if (sk_X509_push(intermediates.get(), cert.get()) > 0) {
        cert.release();  // owned by the stack now
      }
    }
  }
  if (roots == 0) {
    return absl::InvalidArgumentError("ek_ca_files: no self-signed root CA certificate");
  }
  return std::unique_ptr<EkCertificateVerifier>(
      new EkCertificateVerifier(std::move(store), std::move(intermediates), roots));
}

absl::StatusOr<VerifiedEk> EkCertificateVerifier::Verify(absl::string_view der,
                                                         absl::Time now) const {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    ERR_clear_error();
    return ActivationCheckFailed(kParse, absl::StatusCode::kInvalidArgument,
                                 "not a single DER X.509 certificate");
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), cert.get(), intermediates_.get()) != 1) {
    return OpenSslError("X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return ActivationCheckFailed(
        kChain, absl::StatusCode::kUnauthenticated,
        absl::StrCat("EK certificate does not chain to a configured manufacturer CA: ",
                     X509_verify_cert_error_string(err), " (depth ",
                     X509_STORE_CTX_get_error_depth(ctx.get()), ")"));
  }
  VerifiedEk out;
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  uint8_t* spki = nullptr;
  const int len = key != nullptr ? i2d_PUBKEY(key, &spki) : -1;
  if (len <= 0) {
    return ActivationCheckFailed("ek_public_key", absl::StatusCode::kInvalidArgument,
                                 "unreadable EK public key");
  }
  out.spki_der.assign(reinterpret_cast<char*>(spki), len);
  OPENSSL_free(spki);
  EVP_PKEY_up_ref(key);
  out.public_key.reset(key);
  out.subject = OneLine(X509_get_subject_name(cert.get()));
  return out;
}

}  // namespace kb
