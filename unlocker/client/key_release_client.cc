#include "unlocker/client/key_release_client.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
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

namespace {

// What the PEM's certificate blocks are, without parsing them: how many ("CERTIFICATE" or "X509
// CERTIFICATE", the blocks PEM_read_bio_X509 reads, so every certificate a TLS context built from
// this PEM would trust), and the hex SHA-256 of the first one's body as the PEM carries it ("" when
// there is none, or when it has PEM headers, which PEM_read_bio_X509 refuses).
struct CertificateBlocks {
  int count = 0;
  std::string first_raw_sha256;
};

CertificateBlocks ScanCertificateBlocks(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  CertificateBlocks blocks;
  while (PEM_read_bio(bio.get(), &name, &header, &der, &len) == 1) {
    if (std::strcmp(name, PEM_STRING_X509) == 0 || std::strcmp(name, PEM_STRING_X509_OLD) == 0) {
      if (++blocks.count == 1 && header[0] == '\0') {
        blocks.first_raw_sha256 =
            HexEncode(Sha256(absl::string_view(reinterpret_cast<char*>(der), len)));
      }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
  }
  ERR_clear_error();
  return blocks;
}

// A token pins one certificate, while TLS trusts every certificate of the file: a second one
// would be trusted unpinned.
absl::Status RefuseBundle(const CertificateBlocks& blocks) {
  if (blocks.count <= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("the CA file holds ", blocks.count,
                   " certificates; a token pins exactly one and every certificate in the file "
                   "would be trusted: keep only the broker's CA in it"));
}

absl::StatusOr<std::string> ParsedCertificateSha256(const std::string& pem) {
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

}  // namespace

absl::StatusOr<std::string> CertificateSha256(const std::string& pem) {
  RETURN_IF_ERROR(RefuseBundle(ScanCertificateBlocks(pem)));
  return ParsedCertificateSha256(pem);
}

absl::StatusOr<std::string> EnrolledCaSha256(const std::string& pem, absl::string_view enrolled) {
  const CertificateBlocks blocks = ScanCertificateBlocks(pem);
  RETURN_IF_ERROR(RefuseBundle(blocks));
  if (!enrolled.empty() && blocks.first_raw_sha256 == enrolled) return std::string(enrolled);
  return ParsedCertificateSha256(pem);
}

}  // namespace kb
