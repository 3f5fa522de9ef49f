#ifndef KB_KEYBROKER_VERIFIERS_TDX_INTEL_PKI_H_
#define KB_KEYBROKER_VERIFIERS_TDX_INTEL_PKI_H_

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"

namespace kb {
namespace tdx {

using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL_free>>;

// Parses a concatenation of PEM certificates. Only whitespace and NUL padding may surround the
// blocks. INVALID_ARGUMENT for anything else, a block that is not a certificate, or no block.
absl::StatusOr<std::vector<X509Ptr>> ParsePemCertChain(absl::string_view pem);

// Parses one CRL, PEM or DER. INVALID_ARGUMENT if it is neither.
absl::StatusOr<X509CrlPtr> ParseCrl(absl::string_view pem_or_der);

// DER encoding of `cert` (for byte comparison with a trust anchor).
std::string CertDer(X509* cert);
// The certificate's subject common name, or "" if it has none.
std::string CertCommonName(X509* cert);
// The public key of `cert`. INVALID_ARGUMENT if it has none.
absl::StatusOr<EvpPkeyPtr> CertPublicKey(X509* cert);

// Verifies `leaf` <- `intermediates` <- one of `roots` at `now` (validity of every cert and
// signatures); with `crls`, also CRL signatures, CRL validity and revocation of every cert in
// the chain (a CRL must be present for every issuer). UNAUTHENTICATED with OpenSSL's reason.
absl::Status VerifyCertChain(X509* leaf, const std::vector<X509*>& intermediates,
                             const std::vector<X509*>& roots, const std::vector<X509_CRL*>& crls,
                             absl::Time now);

// UNAUTHENTICATED unless `crl` is signed by `issuer` and `now` is in [thisUpdate, nextUpdate].
absl::Status VerifyCrl(X509_CRL* crl, X509* issuer, absl::Time now);

// ECDSA P-256 / SHA-256 verification of a raw big-endian r||s (64-byte) signature.
// UNAUTHENTICATED if it does not verify, INVALID_ARGUMENT for a malformed signature.
absl::Status VerifyEcdsaP256RawSignature(EVP_PKEY* key, absl::string_view message,
                                         absl::string_view signature_rs);

// A P-256 public key from raw big-endian X||Y (64 bytes). INVALID_ARGUMENT if not on the curve;
// INTERNAL if OpenSSL could not make the curve's parameters.
absl::StatusOr<EvpPkeyPtr> P256KeyFromRawXy(absl::string_view xy);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_INTEL_PKI_H_
