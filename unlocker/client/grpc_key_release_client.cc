#include <openssl/pem.h>

#include "common/crypto.h"
#include "common/openssl_util.h"
#include "kb/v1/release.grpc.pb.h"
#include "unlocker/client/grpc_channel.h"
#include "unlocker/client/key_release_client.h"

namespace kb {

class GrpcKeyReleaseClient final : public KeyReleaseClient {
 public:
  explicit GrpcKeyReleaseClient(BrokerEndpoint broker)
      : broker_(std::move(broker)),
        channel_(BrokerChannel(broker_.address, broker_.ca_pem)),
        stub_(v1::KeyRelease::NewStub(channel_)) {}

  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(
      const v1::GetChallengeRequest& request) override {
    return CallBroker(broker_, *channel_, *stub_, &Stub::GetChallenge, request);
  }

  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& request) override {
    return CallBroker(broker_, *channel_, *stub_, &Stub::ReleaseKey, request);
  }

  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& request) override {
    return CallBroker(broker_, *channel_, *stub_, &Stub::ConfirmEnrolment, request);
  }

 private:
  using Stub = v1::KeyRelease::Stub;

  BrokerEndpoint broker_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
};

absl::StatusOr<std::unique_ptr<KeyReleaseClient>> ConnectKeyRelease(const std::string& endpoint,
                                                                    const std::string& ca_pem,
                                                                    absl::Duration timeout,
                                                                    const std::string& ca_file) {
  return std::unique_ptr<KeyReleaseClient>(
      new GrpcKeyReleaseClient({endpoint, ca_pem, ca_file, timeout}));
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

}  // namespace kb
