#include "keybroker/server/broker_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace kb {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is not PEM"));
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const v1::BrokerConfig& config,
                                                                     bool mutual) {
  grpc::SslServerCredentialsOptions options(
      mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(config.tls_cert_file(), "tls_cert_file"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(config.tls_key_file(), "tls_key_file"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (mutual) {
    ASSIGN_OR_RETURN(options.pem_root_certs,
                     ReadPem(config.operator_ca_file(), "operator_ca_file"));
  }
  return grpc::SslServerCredentials(options);
}

constexpr int kMaxRequestBytes = 1 << 20;
// Descriptors kept for everything but client connections (database, TLS files, gRPC's own).
constexpr size_t kReservedFiles = 256;
constexpr size_t kAdminMaxConnections = 128;
constexpr size_t kAdminMaxPerSource = 32;

// The listener's socket is keybrokerd's (GuardedListener); gRPC gets each admitted connection.
// `reflection` also answers any method no service has.
absl::StatusOr<std::unique_ptr<grpc::Server>> Serve(GuardedListener& listener,
                                                    const ConnectionLimits& limits,
                                                    std::shared_ptr<grpc::ServerCredentials> creds,
                                                    const std::vector<grpc::Service*>& services,
                                                    ReflectionV1* reflection) {
  grpc::ServerBuilder builder;
  // Per-connection bookkeeping a broker does not use (a guest connects once per boot).
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // A client has this long for TLS and the HTTP/2 preface; a connection without calls this long
  // is closed (GOAWAY). Both guard the connection caps against clients that hold sockets.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(limits.handshake_timeout)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(limits.idle_timeout)));
  // Evidence is a few KiB (the largest, a TDX quote with its certification data, ~10 KiB).
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, std::move(creds));
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.RegisterCallbackGenericService(reflection);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return absl::UnavailableError("cannot start the gRPC server");
  listener.Start(std::move(acceptor));
  return server;
}

// `names` and the services every listener has: health and reflection v1. Reflection v1alpha is
// answered too (ReflectionV1) but not listed: keybrokerd has no descriptor of it to describe
// (gRPC's, in libgrpc++_reflection, is not linked), and a client that asks v1alpha knows it.
std::vector<std::string> WithStandardServices(std::vector<std::string> names) {
  names.insert(names.end(), {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"});
  return names;
}

}  // namespace

ConnectionLimits LimitsFromConfig(const v1::ConnectionLimits& c) {
  ConnectionLimits l;
  if (c.max_connections() != 0) l.max_connections = c.max_connections();
  if (c.max_connections_per_source() != 0) l.max_per_source = c.max_connections_per_source();
  if (c.handshake_timeout_seconds() != 0)
    l.handshake_timeout = absl::Seconds(c.handshake_timeout_seconds());
  if (c.idle_timeout_seconds() != 0) l.idle_timeout = absl::Seconds(c.idle_timeout_seconds());
  return l;
}

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(const v1::BrokerConfig& config,
                                                                  ReleaseService* release,
                                                                  AdminApi admin,
                                                                  AkActivationService* activation) {
  grpc::EnableDefaultHealthCheckService(true);
  std::unique_ptr<BrokerServer> s(new BrokerServer(release, admin));
  ASSIGN_OR_RETURN(auto release_creds, Credentials(config, /*mutual=*/false));
  ASSIGN_OR_RETURN(auto admin_creds, Credentials(config, /*mutual=*/true));
  if (activation != nullptr) s->activation_grpc_ = std::make_unique<AkActivationGrpc>(activation);
  ConnectionLimits release_limits = LimitsFromConfig(config.connection_limits());
  // Operators are few: the admin listener holds at most kAdminMaxConnections.
  ConnectionLimits admin_limits = release_limits;
  admin_limits.max_connections = std::min(admin_limits.max_connections, kAdminMaxConnections);
  admin_limits.max_per_source = std::min(admin_limits.max_per_source, kAdminMaxPerSource);
  const std::string lowered =
      FitToFileLimit(RaiseFileLimit(), kReservedFiles, {&release_limits, &admin_limits});
  if (!lowered.empty()) LogWarning("%s", lowered);
  ASSIGN_OR_RETURN(
      s->release_listener_,
      GuardedListener::Bind("release_listen", config.release_listen(), release_limits));
  ASSIGN_OR_RETURN(s->admin_listener_,
                   GuardedListener::Bind("admin_listen", config.admin_listen(), admin_limits));
  std::vector<grpc::Service*> release_services = {&s->release_grpc_};
  std::vector<std::string> release_names = {v1::KeyRelease::service_full_name()};
  if (s->activation_grpc_) {
    release_services.push_back(s->activation_grpc_.get());
    release_names.push_back(v1::AttestationKeyActivation::service_full_name());
  }
  s->release_reflection_ = std::make_unique<ReflectionV1>(WithStandardServices(release_names));
  s->admin_reflection_ =
      std::make_unique<ReflectionV1>(WithStandardServices({v1::KeyAdmin::service_full_name()}));
  ASSIGN_OR_RETURN(s->release_server_, Serve(*s->release_listener_, release_limits, release_creds,
                                             release_services, s->release_reflection_.get()));
  ASSIGN_OR_RETURN(s->admin_server_, Serve(*s->admin_listener_, admin_limits, admin_creds,
                                           {&s->admin_grpc_}, s->admin_reflection_.get()));
  s->release_port_ = s->release_listener_->port();
  s->admin_port_ = s->admin_listener_->port();
  return s;
}

BrokerServer::~BrokerServer() { Shutdown(); }

void BrokerServer::Wait() {
  if (release_server_) release_server_->Wait();
  if (admin_server_) admin_server_->Wait();
}

void BrokerServer::Shutdown() {
  // Stop taking connections first, then let gRPC finish the calls in flight.
  if (release_listener_) release_listener_->Stop();
  if (admin_listener_) admin_listener_->Stop();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  if (release_server_) release_server_->Shutdown(deadline);
  if (admin_server_) admin_server_->Shutdown(deadline);
}

}  // namespace kb
