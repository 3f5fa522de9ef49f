#ifndef KB_UNLOCKER_UNARY_GRPC_UNARY_CHANNEL_H_
#define KB_UNLOCKER_UNARY_GRPC_UNARY_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "unlocker/unary_grpc/http2_connection.h"
#include "unlocker/unary_grpc/tls_connection.h"

namespace kb::unary_grpc {

// Unary gRPC calls to one server over TLS, one at a time: connects when a call needs it, keeps
// the connection for the next call, and connects again when the server closed it.
class UnaryChannel {
 public:
  // A channel to `endpoint` ("host:port") whose certificate must chain to `ca_pem`.
  static absl::StatusOr<std::unique_ptr<UnaryChannel>> Create(std::string endpoint,
                                                              absl::string_view ca_pem);

  // Calls `path` with the serialized `request`, bounded by `timeout` from now, connection
  // included; the serialized response or the call's status. When `timeout` passes before a
  // connection was made: UNAVAILABLE "no connection within <timeout>". A call the server
  // refused unprocessed (GOAWAY, REFUSED_STREAM) is tried once more on a new connection; no
  // other call is repeated, so a request is never processed twice.
  absl::StatusOr<std::string> Call(absl::string_view path, absl::string_view request,
                                   absl::Duration timeout);

  // Connections made so far (for tests: a kept connection is reused).
  int connections() const { return connections_; }

 private:
  UnaryChannel(std::string endpoint, SslCtxPtr ctx)
      : endpoint_(std::move(endpoint)), ctx_(std::move(ctx)) {}
  absl::Status EnsureConnected(absl::Time deadline, absl::Duration timeout);

  std::string endpoint_;
  SslCtxPtr ctx_;
  std::unique_ptr<Http2Connection> connection_;
  int connections_ = 0;
};

}  // namespace kb::unary_grpc

#endif  // KB_UNLOCKER_UNARY_GRPC_UNARY_CHANNEL_H_
