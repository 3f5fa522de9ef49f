#include "bench/loopback_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "keybroker/server/guarded_listener.h"

namespace kb {

int ServeOnLoopback(grpc::ServerBuilder& builder, const std::string& cert_pem,
                    const std::string& key_pem, BenchListener which) {
  // As keybrokerd: no deadlock detection in gRPC's abseil mutexes.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({key_pem, cert_pem});
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 300000);
  builder.SetMaxReceiveMessageSize(1 << 20);
  int port = 0;
  std::unique_ptr<GuardedListener> listener;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor;
  if (which == BenchListener::kKeybrokerd) {
    auto bound = GuardedListener::Bind("bench", "127.0.0.1:0", ConnectionLimits{});
    if (!bound.ok()) {
      std::fprintf(stderr, "%s\n", std::string(bound.status().message()).c_str());
      return 1;
    }
    listener = *std::move(bound);
    port = listener->port();
    acceptor = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
        grpc::SslServerCredentials(options));
  } else {
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return 1;
  if (listener) listener->Start(std::move(acceptor));
  std::printf("port %d\n", port);
  std::fflush(stdout);
  server->Wait();
  if (listener) listener->Stop();
  return 0;
}

}  // namespace kb
