#ifndef KB_UNLOCKER_CLIENT_KEY_RELEASE_CLIENT_H_
#define KB_UNLOCKER_CLIENT_KEY_RELEASE_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kb/v1/release.pb.h"

namespace kb {

// A transport failure as the clients here report it (UNAVAILABLE or DEADLINE_EXCEEDED): the
// broker did not answer, as opposed to answering with a refusal.
inline bool IsTransportFailure(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

// The broker's KeyRelease API as the guest sees it. Errors keep the broker's status codes;
// transport failures are UNAVAILABLE or DEADLINE_EXCEEDED.
class KeyReleaseClient {
 public:
  virtual ~KeyReleaseClient() = default;
  virtual absl::StatusOr<v1::GetChallengeResponse> GetChallenge(
      const v1::GetChallengeRequest& request) = 0;
  virtual absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(
      const v1::ReleaseKeyRequest& request) = 0;
  // KeyRelease.ConfirmEnrolment. A broker that predates it answers UNIMPLEMENTED; the flows
  // then leave the enrolment unconfirmed (retried later).
  virtual absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& request) = 0;
};

// KeyRelease over TLS to one endpoint, verifying the broker against `ca_pem` only (read from
// `ca_file`, named when the broker's certificate is refused).
absl::StatusOr<std::unique_ptr<KeyReleaseClient>> ConnectKeyRelease(
    const std::string& endpoint, const std::string& ca_pem, absl::Duration timeout,
    const std::string& ca_file = "the CA file");

// Hex SHA-256 of the DER of the certificate in `pem`. INVALID_ARGUMENT if there is none, or more
// than one: a token pins one certificate, and a TLS context built from `pem` would trust them all.
absl::StatusOr<std::string> CertificateSha256(const std::string& pem);

// CertificateSha256(pem) for comparing with `enrolled`, a token's record of it: `enrolled` when
// the certificate block's bytes hash to it, which needs no parse (OpenSSL 3.0 decodes a
// certificate's key through its provider decoders, a good part of a boot's CPU time); else
// CertificateSha256(pem), its value or its error. Equal bytes are the enrolled certificate's
// DER, so the result is always what CertificateSha256 would give.
absl::StatusOr<std::string> EnrolledCaSha256(const std::string& pem, absl::string_view enrolled);

}  // namespace kb

#endif  // KB_UNLOCKER_CLIENT_KEY_RELEASE_CLIENT_H_
