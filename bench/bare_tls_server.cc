// A bare gRPC 1.51 server over TLS with no keybroker code: the health service only, the same
// certificate and the same channel arguments as keybrokerd's listeners. connection_memory
// starts it beside keybrokerd to measure what gRPC's TLS transport alone holds per connection.
// With --noop-release it also answers GetChallenge and ReleaseKey on the callback API with
// canned responses of a real release's sizes and does nothing else: release_bench's stack
// floor, what gRPC and TLS alone cost for the same calls.
// usage: bare_tls_server [--noop-release] CERT_PEM KEY_PEM   (prints "port N", serves until killed)
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/loopback_server.h"
#include "kb/v1/release.grpc.pb.h"

namespace {

// Answers like keybrokerd with the sizes of a release to a TPM ECC transfer key: a 32-hex-digit
// challenge id and a 32-byte nonce; a P-256 ephemeral point and an AES-KWP-wrapped 32-byte key.
class NoopRelease final : public kb::v1::KeyRelease::CallbackService {
 public:
  NoopRelease() {
    challenge_.set_challenge_id(std::string(32, 'c'));
    challenge_.set_nonce(std::string(32, 'n'));
    challenge_.mutable_expires_at()->set_seconds(1);
    release_.set_key_id("bench");
    release_.set_version(1);
    release_.set_latest_version(1);
    release_.mutable_wrapped_key()->set_scheme(kb::v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP);
    release_.mutable_wrapped_key()->set_ephemeral_public(std::string(65, 'e'));
    release_.mutable_wrapped_key()->set_wrapped(std::string(40, 'w'));
  }
  grpc::ServerUnaryReactor* GetChallenge(grpc::CallbackServerContext* context,
                                         const kb::v1::GetChallengeRequest*,
                                         kb::v1::GetChallengeResponse* out) override {
    *out = challenge_;
    return Done(context);
  }
  grpc::ServerUnaryReactor* ReleaseKey(grpc::CallbackServerContext* context,
                                       const kb::v1::ReleaseKeyRequest*,
                                       kb::v1::ReleaseKeyResponse* out) override {
    *out = release_;
    return Done(context);
  }

 private:
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  kb::v1::GetChallengeResponse challenge_;
  kb::v1::ReleaseKeyResponse release_;
};

std::string Slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  const bool noop_release = argc == 4 && std::string(argv[1]) == "--noop-release";
  if (argc != 3 && !noop_release) {
    std::fputs("usage: bare_tls_server [--noop-release] CERT_PEM KEY_PEM\n", stderr);
    return 2;
  }
  const char* cert = argv[argc - 2];
  const char* key = argv[argc - 1];
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // No methods of its own: every call gets UNIMPLEMENTED from gRPC's generic callback service.
  grpc::CallbackGenericService generic;
  builder.RegisterCallbackGenericService(&generic);
  NoopRelease release;
  if (noop_release) builder.RegisterService(&release);
  return kb::ServeOnLoopback(builder, Slurp(cert), Slurp(key));
}
