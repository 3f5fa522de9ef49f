#ifndef KB_COMMON_OPENSSL_UTIL_H_
#define KB_COMMON_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// RAII owners for OpenSSL objects.
template <auto Fn>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;

// A key of `type` ("EC", "RSA") from the parameters built in `bld`, as much of it as
// `selection` (EVP_PKEY_PUBLIC_KEY, EVP_PKEY_KEY_PARAMETERS) names; null when OpenSSL refuses
// them, with the reason on its error queue for OpenSslError.
EvpPkeyPtr KeyFromParams(const char* type, int selection, OSSL_PARAM_BLD* bld);

// The bytes of `s` as the `const unsigned char*` that OpenSSL's and tss2-mu's calls take.
inline const uint8_t* U8(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Builds an error status from `what` and the OpenSSL error queue (which it clears).
absl::Status OpenSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInternal);

// `t` as absl::Time; `missing` when `t` is null or unreadable.
absl::Time Asn1Time(const ASN1_TIME* t, absl::Time missing);
// RFC 2253 text of `name`; empty if it cannot be printed.
std::string NameText(X509_NAME* name);
// `cert` as one PEM block; empty if it cannot be written.
std::string CertificatePem(X509* cert);

// Every certificate of a PEM text, in order (none: an empty vector). INVALID_ARGUMENT for a
// malformed PEM block.
absl::StatusOr<std::vector<X509Ptr>> ReadPemCertificates(absl::string_view pem);
// Parses one X.509 certificate given as DER or PEM (of a PEM bundle, the first). INVALID_ARGUMENT
// if it is neither or has trailing data.
absl::StatusOr<X509Ptr> ParseCertificate(absl::string_view der_or_pem);
// The first private key of PEM text (PKCS#8 or traditional). INVALID_ARGUMENT if there is none.
absl::StatusOr<EvpPkeyPtr> ParsePemPrivateKey(absl::string_view pem);
// Whether `key` is the private key of `cert`'s public key. Leaves no OpenSSL error queued.
bool PrivateKeyMatches(X509* cert, EVP_PKEY* key);

}  // namespace kb

#endif  // KB_COMMON_OPENSSL_UTIL_H_
