#ifndef KB_UNLOCKER_UNARY_GRPC_TCP_CONNECT_H_
#define KB_UNLOCKER_UNARY_GRPC_TCP_CONNECT_H_

// TCP for the guest's unary gRPC client: endpoints, connecting with a deadline, waiting on a
// non-blocking socket.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb::unary_grpc {

// "host:port" split; the host without an IPv6 literal's brackets. INVALID_ARGUMENT without a
// port.
struct HostPort {
  std::string host;
  std::string port;
};
absl::StatusOr<HostPort> SplitHostPort(absl::string_view endpoint);

// A non-blocking TCP connection (TCP_NODELAY) to the first address of `hp` that accepts one by
// `deadline`; the last address's error otherwise, DEADLINE_EXCEEDED when `deadline` passed.
absl::StatusOr<int> ConnectTcp(const HostPort& hp, absl::Time deadline);

// UNAVAILABLE: "<what>: <errno's text>".
absl::Status SocketError(absl::string_view what, int err);

// Waits until `fd` has one of `events` (poll(2)), or DEADLINE_EXCEEDED at `deadline`.
absl::Status WaitForSocket(int fd, short events, absl::Time deadline);

}  // namespace kb::unary_grpc

#endif  // KB_UNLOCKER_UNARY_GRPC_TCP_CONNECT_H_
