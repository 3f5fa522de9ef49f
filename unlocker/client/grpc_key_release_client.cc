#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/grpc_status.h"
#include "common/openssl_util.h"
#include "kb/v1/release.grpc.pb.h"
#include "unlocker/client/key_release_client.h"

namespace kb {

class GrpcKeyReleaseClient final : public KeyReleaseClient {
 public:
  GrpcKeyReleaseClient(std::string endpoint, std::shared_ptr<grpc::Channel> channel,
                       absl::Duration timeout)
      : endpoint_(std::move(endpoint)),
        stub_(v1::KeyRelease::NewStub(std::move(channel))),
        timeout_(timeout) {}

  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(
      const v1::GetChallengeRequest& request) override {
    v1::GetChallengeResponse response;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    grpc::Status status = stub_->GetChallenge(&ctx, request, &response);
    return Result(status, std::move(response));
  }

  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& request) override {
    v1::ReleaseKeyResponse response;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    grpc::Status status = stub_->ReleaseKey(&ctx, request, &response);
    return Result(status, std::move(response));
  }

 private:
  void SetDeadline(grpc::ClientContext& ctx) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  }

  template <typename T>
  absl::StatusOr<T> Result(const grpc::Status& status, T response) {
    if (status.ok()) return response;
    absl::Status s = FromGrpcStatus(status);
    if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
      return absl::Status(s.code(),
                          absl::StrCat("broker ", endpoint_, " unreachable: ", s.message()));
    }
    return absl::Status(s.code(), absl::StrCat("broker ", endpoint_, ": ", s.message()));
  }

  std::string endpoint_;
  std::unique_ptr<v1::KeyRelease::Stub> stub_;
  absl::Duration timeout_;
};

absl::StatusOr<std::unique_ptr<KeyReleaseClient>> ConnectKeyRelease(const std::string& endpoint,
                                                                    const std::string& ca_pem,
                                                                    absl::Duration timeout) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  grpc::ChannelArguments args;
  // Fail fast and let the caller's bound decide about retries.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(options), args);
  return std::unique_ptr<KeyReleaseClient>(
      new GrpcKeyReleaseClient(endpoint, std::move(channel), timeout));
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
