#include "unlocker/client/key_release_client.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

#include "common/crypto.h"
#include "common/openssl_util.h"
#include "unlocker/client/broker_call.h"

namespace kb {
namespace {

// KeyRelease's methods on the wire (proto/kb/v1/release.proto).
constexpr absl::string_view kGetChallenge = "/kb.v1.KeyRelease/GetChallenge";
constexpr absl::string_view kReleaseKey = "/kb.v1.KeyRelease/ReleaseKey";
constexpr absl::string_view kConfirmEnrolment = "/kb.v1.KeyRelease/ConfirmEnrolment";

class UnaryKeyReleaseClient final : public KeyReleaseClient {
 public:
  UnaryKeyReleaseClient(BrokerEndpoint broker, std::unique_ptr<unary_grpc::UnaryChannel> channel)
      : broker_(std::move(broker)), channel_(std::move(channel)) {}

  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(
      const v1::GetChallengeRequest& request) override {
    return CallBroker<v1::GetChallengeResponse>(broker_, *channel_, kGetChallenge, request);
  }

  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& request) override {
    return CallBroker<v1::ReleaseKeyResponse>(broker_, *channel_, kReleaseKey, request);
  }

  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& request) override {
    return CallBroker<v1::ConfirmEnrolmentResponse>(broker_, *channel_, kConfirmEnrolment, request);
  }

 private:
  BrokerEndpoint broker_;
  std::unique_ptr<unary_grpc::UnaryChannel> channel_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyReleaseClient>> ConnectKeyRelease(const std::string& endpoint,
                                                                    const std::string& ca_pem,
                                                                    absl::Duration timeout,
                                                                    const std::string& ca_file) {
  BrokerEndpoint broker{endpoint, ca_pem, ca_file, timeout};
  auto channel = BrokerChannel(broker);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<KeyReleaseClient>(
      new UnaryKeyReleaseClient(std::move(broker), *std::move(channel)));
}

absl::StatusOr<std::string> CertificateSha256(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return OpenSslError("no PEM certificate", absl::StatusCode::kInvalidArgument);
  uint8_t* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return OpenSslError("i2d_X509");
  std::string digest = Sha256(absl::string_view(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  return HexEncode(digest);
}

namespace {

// Hex SHA-256 of the body of the first CERTIFICATE block of `pem`, as the PEM carries it; ""
// when there is none, or when that block has PEM headers (which PEM_read_bio_X509 refuses).
std::string RawCertificateSha256(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  std::string hex;
  bool found = false;
  while (!found && PEM_read_bio(bio.get(), &name, &header, &der, &len) == 1) {
    found = std::strcmp(name, PEM_STRING_X509) == 0 || std::strcmp(name, PEM_STRING_X509_OLD) == 0;
    if (found && header[0] == '\0') {
      hex = HexEncode(Sha256(absl::string_view(reinterpret_cast<char*>(der), len)));
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
  }
  ERR_clear_error();
  return hex;
}

}  // namespace

absl::StatusOr<std::string> EnrolledCaSha256(const std::string& pem, absl::string_view enrolled) {
  if (!enrolled.empty() && RawCertificateSha256(pem) == enrolled) return std::string(enrolled);
  return CertificateSha256(pem);
}

}  // namespace kb
