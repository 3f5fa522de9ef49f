#ifndef KB_KEYBROKER_SERVER_BROKER_SERVER_H_
#define KB_KEYBROKER_SERVER_BROKER_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kb/v1/config.pb.h"
#include "keybroker/ak_activation/activation_grpc.h"
#include "keybroker/server/grpc_services.h"
#include "keybroker/server/guarded_listener.h"
#include "keybroker/server/reflection_v1.h"

namespace kb {

// The two gRPC listeners of keybrokerd: KeyRelease over server-authenticated TLS, KeyAdmin over
// mutual TLS (client certificates must chain to the operator CA). Both serve the standard health
// service and server reflection.
// BrokerConfig.connection_limits with the defaults of ConnectionLimits for unset fields.
ConnectionLimits LimitsFromConfig(const v1::ConnectionLimits& config);

class BrokerServer {
 public:
  // Binds both listeners (GuardedListener: connection caps from config.connection_limits).
  // UNAVAILABLE if a port cannot be bound or is in use; NOT_FOUND/INVALID_ARGUMENT if a TLS
  // file is missing or not PEM.
  // `activation` (may be null: not served) is served on the release listener.
  static absl::StatusOr<std::unique_ptr<BrokerServer>> Start(
      const v1::BrokerConfig& config, ReleaseService* release, AdminApi admin,
      AkActivationService* activation = nullptr);
  ~BrokerServer();
  int release_port() const { return release_port_; }
  int admin_port() const { return admin_port_; }
  ListenerStats release_stats() const { return release_listener_->stats(); }
  // Blocks until Shutdown() is called from another thread.
  void Wait();
  void Shutdown();

 private:
  // Admin calls run two at a time (operators are few; a third waits), at most 64 waiting.
  static constexpr size_t kAdminWorkers = 2;
  static constexpr size_t kAdminQueue = 64;
  BrokerServer(ReleaseService* release, AdminApi admin)
      : release_grpc_(release), admin_grpc_(admin, &admin_workers_) {}
  // Idle once the servers have shut down (Shutdown waits for every call to finish; the queued
  // ones it cancels after its grace period finish CANCELLED as a worker reaches them); declared
  // first, so destroyed after everything.
  WorkerPool admin_workers_{kAdminWorkers, kAdminQueue};
  KeyReleaseGrpc release_grpc_;
  KeyAdminGrpc admin_grpc_;
  std::unique_ptr<AkActivationGrpc> activation_grpc_;  // null when not served
  std::unique_ptr<ReflectionV1> release_reflection_;
  std::unique_ptr<ReflectionV1> admin_reflection_;
  std::unique_ptr<GuardedListener> release_listener_;
  std::unique_ptr<GuardedListener> admin_listener_;
  std::unique_ptr<grpc::Server> release_server_;
  std::unique_ptr<grpc::Server> admin_server_;
  int release_port_ = 0;
  int admin_port_ = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_BROKER_SERVER_H_
