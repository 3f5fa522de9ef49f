// The least any broker on this stack can spend per release: a bare gRPC 1.51 callback server
// over TLS (keybrokerd's certificate and channel arguments) whose handlers do nothing but the
// crypto floor of each request, on the request itself, inline on gRPC's thread:
//   GetChallenge: 32 random bytes of nonce and 16 of id (in hex, as keybrokerd's);
//   ReleaseKey:   tpm: the quote's and the certification's ECDSA-P256 signatures checked with
//                 the AK in the request, the wrap (ECDH-P256, HKDF, AES-KWP) to its transfer key;
//                 snp: the report's ECDSA-P384 signature checked with the VCEK given at start,
//                 the wrap to the request's P-256 SPKI.
// No policy, store or challenge check. With --durable each release also appends a 256-byte
// record to a file in DIR and fdatasync()s it before answering, as an audit record must be
// durable before a key leaves (one sync per release, no group commit). release_bench puts it
// beside keybrokerd under the same load: what keybrokerd spends beyond it is its own. With
// --guarded-listener its connections come through keybrokerd's listener instead of gRPC's.
// usage: floor_tls_server [--guarded-listener] tpm|snp[:VCEK_DER] [--durable DIR] CERT_PEM KEY_PEM
//        (prints "port N", serves until killed)
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/escaping.h"
#include "bench/floor_work.h"
#include "bench/loopback_server.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "kb/v1/release.grpc.pb.h"

namespace kb {
namespace {

class FloorRelease final : public v1::KeyRelease::CallbackService {
 public:
  // `vcek` null: the TPM floor. `durable_fd` -1: no record written.
  FloorRelease(X509* vcek, int durable_fd) : vcek_(vcek), durable_fd_(durable_fd) {}

  grpc::ServerUnaryReactor* GetChallenge(grpc::CallbackServerContext* context,
                                         const v1::GetChallengeRequest*,
                                         v1::GetChallengeResponse* out) override {
    absl::StatusOr<std::string> id = RandomBytes(16), nonce = RandomBytes(32);
    if (id.ok() && nonce.ok()) {
      out->set_challenge_id(absl::BytesToHexString(*id));
      out->set_nonce(*nonce);
    }
    return Done(context, id.ok() && nonce.ok() ? absl::OkStatus() : id.status());
  }

  grpc::ServerUnaryReactor* ReleaseKey(grpc::CallbackServerContext* context,
                                       const v1::ReleaseKeyRequest* request,
                                       v1::ReleaseKeyResponse* out) override {
    absl::StatusOr<v1::WrappedKey> wrapped =
        vcek_ != nullptr ? SnpFloorWork(vcek_, *request, key_) : TpmFloorWork(*request, key_);
    absl::Status s = wrapped.status();
    if (s.ok()) *out->mutable_wrapped_key() = *std::move(wrapped);
    if (s.ok() && durable_fd_ >= 0) s = AppendDurably();
    out->set_key_id(request->key_id());
    out->set_version(1);
    return Done(context, s);
  }

 private:
  absl::Status AppendDurably() {
    const std::string record(256, 'r');
    if (write(durable_fd_, record.data(), record.size()) != ssize_t(record.size()) ||
        fdatasync(durable_fd_) != 0) {
      return absl::InternalError("durable append failed");
    }
    return absl::OkStatus();
  }
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                                        const absl::Status& s) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(s.ok() ? grpc::Status::OK
                           : grpc::Status(grpc::StatusCode::INTERNAL, std::string(s.message())));
    return reactor;
  }
  X509* const vcek_;
  const int durable_fd_;
  const SecretBytes key_ = *RandomSecret(32);
};

int Serve(int argc, char** argv) {
  // release_bench --listener-only puts the model behind keybrokerd's listener.
  const bool guarded = argc > 1 && std::string(argv[1]) == "--guarded-listener";
  if (guarded) {
    --argc;
    ++argv;
  }
  std::string mode = argc > 3 ? argv[1] : "";
  const bool durable = argc == 6 && std::string(argv[2]) == "--durable";
  if ((argc != 4 && !durable) || (mode != "tpm" && mode.rfind("snp:", 0) != 0)) {
    std::fputs(
        "usage: floor_tls_server [--guarded-listener] tpm|snp:VCEK_DER [--durable DIR] CERT_PEM "
        "KEY_PEM\n",
        stderr);
    return 2;
  }
  X509Ptr vcek;
  if (mode != "tpm") {
    auto parsed = ParseCertificate(ReadFile(mode.substr(4)).value_or(""));
    if (!parsed.ok()) return 1;
    vcek = *std::move(parsed);
  }
  const int fd = durable ? open((std::string(argv[3]) + "/floor-records").c_str(),
                                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
                         : -1;
  auto cert = ReadFile(argv[argc - 2]), key = ReadFile(argv[argc - 1]);
  if ((durable && fd < 0) || !cert.ok() || !key.ok()) return 1;
  grpc::ServerBuilder builder;
  FloorRelease release(vcek.get(), fd);
  builder.RegisterService(&release);
  return ServeOnLoopback(builder, *cert, *key,
                         guarded ? BenchListener::kKeybrokerd : BenchListener::kGrpc);
}

}  // namespace
}  // namespace kb

int main(int argc, char** argv) { return kb::Serve(argc, argv); }
