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

// The DER is hashed as the PEM carries it, without parsing the certificate: OpenSSL 3.0 decodes
// a certificate's public key through its provider decoders, which costs the boot path more than
// the handshake's own parse of it. What is not a certificate fails where the CA is loaded.
absl::StatusOr<std::string> CertificateSha256(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &der, &len) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError("no PEM certificate");
    }
    const bool certificate =
        std::strcmp(name, PEM_STRING_X509) == 0 || std::strcmp(name, PEM_STRING_X509_OLD) == 0;
    std::string digest =
        certificate ? Sha256(absl::string_view(reinterpret_cast<char*>(der), len)) : "";
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    if (certificate) return HexEncode(digest);
  }
}

}  // namespace kb
