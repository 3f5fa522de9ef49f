#ifndef KB_TESTS_FAKES_EK_TEST_PKI_H_
#define KB_TESTS_FAKES_EK_TEST_PKI_H_

// A TPM manufacturer PKI for tests: CAs and EK certificates made with OpenSSL.
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>

#include "absl/time/time.h"
#include "common/openssl_util.h"

namespace kb {

// The notBefore of test certificates is a day before this (FakeClock's default start).
inline const absl::Time kEkTestPkiStart = absl::FromUnixSeconds(1'800'000'000);

// A CA: its key and certificate.
struct Ca {
  EvpPkeyPtr key;
  X509Ptr cert;
};

// A certificate for `subject_key` issued by `issuer` (self-signed when null).
inline X509Ptr Sign(EVP_PKEY* subject_key, const std::string& cn, const Ca* issuer, bool ca,
                    absl::Time not_after) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(kEkTestPkiStart - absl::Hours(24)));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn.c_str()),
                             -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert));
  X509_set_pubkey(cert.get(), subject_key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints,
                                            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert.get(), issuer ? issuer->key.get() : subject_key, EVP_sha256());
  return cert;
}

inline Ca NewCa(const std::string& cn, const Ca* parent) {
  Ca ca;
  ca.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ca.cert = Sign(ca.key.get(), cn, parent, true, kEkTestPkiStart + absl::Hours(24 * 3650));
  return ca;
}

inline std::string Pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

inline std::string Der(X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

inline std::string SpkiDer(EVP_PKEY* key) {
  uint8_t* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

}  // namespace kb

#endif  // KB_TESTS_FAKES_EK_TEST_PKI_H_
