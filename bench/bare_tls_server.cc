// A bare gRPC 1.51 server over TLS with no keybroker code: the health service only, the same
// certificate and the same channel arguments as keybrokerd's listeners. connection_memory
// starts it beside keybrokerd to measure what gRPC's TLS transport alone holds per connection.
// usage: bare_tls_server CERT_PEM KEY_PEM   (prints "port N", serves until killed)
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string Slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fputs("usage: bare_tls_server CERT_PEM KEY_PEM\n", stderr);
    return 2;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({Slurp(argv[2]), Slurp(argv[1])});
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 300000);
  builder.SetMaxReceiveMessageSize(1 << 20);
  // No methods of its own: every call gets UNIMPLEMENTED from gRPC's generic callback service.
  grpc::CallbackGenericService generic;
  builder.RegisterCallbackGenericService(&generic);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return 1;
  std::printf("port %d\n", port);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
