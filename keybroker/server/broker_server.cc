#include "keybroker/server/broker_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
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

absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(const std::string& address,
                                                     std::shared_ptr<grpc::ServerCredentials> creds,
                                                     grpc::Service* service, int* port,
                                                     grpc::Service* extra = nullptr) {
  grpc::ServerBuilder builder;
  // Per-connection bookkeeping a broker does not use (a guest connects once per boot).
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // Evidence is a few KiB (the largest, a TDX quote with its certification data, ~10 KiB).
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.AddListeningPort(address, std::move(creds), port);
  builder.RegisterService(service);
  if (extra != nullptr) builder.RegisterService(extra);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || *port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  return server;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(const v1::BrokerConfig& config,
                                                                  ReleaseService* release,
                                                                  AdminService* admin,
                                                                  AkActivationService* activation) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<BrokerServer> s(new BrokerServer(release, admin));
  ASSIGN_OR_RETURN(auto release_creds, Credentials(config, /*mutual=*/false));
  ASSIGN_OR_RETURN(auto admin_creds, Credentials(config, /*mutual=*/true));
  if (activation != nullptr) s->activation_grpc_ = std::make_unique<AkActivationGrpc>(activation);
  ASSIGN_OR_RETURN(s->release_server_,
                   Listen(config.release_listen(), release_creds, &s->release_grpc_,
                          &s->release_port_, s->activation_grpc_.get()));
  ASSIGN_OR_RETURN(s->admin_server_,
                   Listen(config.admin_listen(), admin_creds, &s->admin_grpc_, &s->admin_port_));
  return s;
}

BrokerServer::~BrokerServer() { Shutdown(); }

void BrokerServer::Wait() {
  if (release_server_) release_server_->Wait();
  if (admin_server_) admin_server_->Wait();
}

void BrokerServer::Shutdown() {
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  if (release_server_) release_server_->Shutdown(deadline);
  if (admin_server_) admin_server_->Shutdown(deadline);
}

}  // namespace kb
