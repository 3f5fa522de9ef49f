#ifndef KB_KEYBROKER_AK_ACTIVATION_EK_CERTIFICATE_H_
#define KB_KEYBROKER_AK_ACTIVATION_EK_CERTIFICATE_H_

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"

namespace kb {

// An EK certificate that chained to a configured manufacturer CA.
struct VerifiedEk {
  EvpPkeyPtr public_key;
  std::string spki_der;  // DER SubjectPublicKeyInfo of the EK
  std::string subject;   // one-line subject DN (often empty for EK certificates)
};

// Verifies TPM endorsement key certificates against TPM manufacturer CAs. Self-signed
// certificates of the configured files are the trust anchors; the others are intermediates that
// a chain may use (they must themselves chain to an anchor). Immutable after Create(), so
// thread-safe.
class EkCertificateVerifier {
 public:
  // Reads the PEM files (each one or more certificates). NOT_FOUND for a missing file;
  // INVALID_ARGUMENT for a file without certificates or no self-signed root among them all.
  static absl::StatusOr<std::unique_ptr<EkCertificateVerifier>> FromPemFiles(
      const std::vector<std::string>& paths);
  // The same over PEM texts.
  static absl::StatusOr<std::unique_ptr<EkCertificateVerifier>> FromPem(
      const std::vector<std::string>& pems);

  // Parses the DER certificate and verifies its chain at time `now`. INVALID_ARGUMENT
  // "ek_certificate_parse" for malformed DER; UNAUTHENTICATED "ek_certificate_chain" naming
  // OpenSSL's reason (unknown issuer, expired, bad signature, ...).
  absl::StatusOr<VerifiedEk> Verify(absl::string_view der, absl::Time now) const;

  size_t roots() const { return roots_; }

 private:
  using StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
  struct StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
  };
  using StackPtr = std::unique_ptr<STACK_OF(X509), StackFree>;
  EkCertificateVerifier(StorePtr store, StackPtr intermediates, size_t roots)
      : store_(std::move(store)), intermediates_(std::move(intermediates)), roots_(roots) {}

  StorePtr store_;
  StackPtr intermediates_;
  size_t roots_;
};

// The status of a failed activation check: "activation check '<check>' failed: <detail>".
absl::Status ActivationCheckFailed(absl::string_view check, absl::StatusCode code,
                                   absl::string_view detail);

}  // namespace kb

#endif  // KB_KEYBROKER_AK_ACTIVATION_EK_CERTIFICATE_H_
