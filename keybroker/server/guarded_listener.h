#ifndef KB_KEYBROKER_SERVER_GUARDED_LISTENER_H_
#define KB_KEYBROKER_SERVER_GUARDED_LISTENER_H_

#include <grpcpp/server_builder.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "keybroker/server/connection_table.h"
#include "keybroker/server/heap_trimmer.h"

namespace kb {

// Counters of one listener, for logs and tests.
struct ListenerStats {
  size_t open = 0;               // connections held now
  uint64_t accepted = 0;         // handed to gRPC
  uint64_t refused_source = 0;   // refused: their address was at its cap
  uint64_t refused_full = 0;     // refused: total cap reached and nothing to evict
  uint64_t evicted = 0;          // closed to make room for a new connection
  uint64_t closed_idle = 0;      // closed by the idle backstop
  uint64_t accept_failures = 0;  // accept() errors survived (EMFILE, ENOBUFS, ...)
};

// A TCP listener that keybrokerd owns instead of gRPC, so that no client can exhaust it: it
// accepts on its own thread, refuses a connection over the total or per-address cap with a TCP
// reset (no TLS work), evicts the connection idle the longest when the total cap is reached,
// survives every accept() failure (it pauses and retries; gRPC 1.51's own listener stops for
// good after one EMFILE), and hands each admitted socket to a gRPC server through its external
// connection acceptor, where TLS and HTTP/2 run as on any gRPC port. The socket is bound without
// SO_REUSEPORT, so a second broker on the same port fails to start.
//
// It tracks each connection through a duplicate of its socket: gRPC shuts a socket down before
// it closes it, which the duplicate sees as a hang-up.
class GuardedListener {
 public:
  // Binds and listens on `address` ("host:port", "[v6]:port"; port 0 picks a free one).
  // `name` labels log lines and errors ("release_listen"). UNAVAILABLE naming the address when
  // it is in use or cannot be bound.
  static absl::StatusOr<std::unique_ptr<GuardedListener>> Bind(const std::string& name,
                                                               const std::string& address,
                                                               ConnectionLimits limits);
  ~GuardedListener();

  int port() const { return port_; }
  // Starts the accept thread; connections go to `acceptor` (from the gRPC server's builder).
  void Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  // Stops accepting and joins the thread. Connections already handed over stay with gRPC.
  void Stop();
  ListenerStats stats() const;

 private:
  GuardedListener(std::string name, int fd, int port, ConnectionLimits limits);
  void Loop();
  void AcceptAll();
  // `peer`: the address accept4() returned for `fd`.
  void Admit(int fd, const sockaddr_storage& peer);
  void Forget(int track_fd);
  void Evict(int track_fd);
  void SweepIdle();
  void LogSummary(bool force);
  std::optional<absl::Duration> Idle(int track_fd) const;

  const std::string name_;
  const int listen_fd_;
  const int port_;
  const ConnectionLimits limits_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  // Owned by the accept thread.
  ConnectionTable table_;
  HeapTrimmer trimmer_;
  absl::Time paused_until_ = absl::InfinitePast();
  absl::Time last_summary_ = absl::InfinitePast();
  ListenerStats logged_;
  // Written by the accept thread, read by stats().
  mutable std::atomic<size_t> open_{0};
  std::atomic<uint64_t> accepted_{0}, refused_source_{0}, refused_full_{0}, evicted_{0},
      closed_idle_{0}, accept_failures_{0};
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit and returns the resulting limit.
size_t RaiseFileLimit();

// Lowers the caps of `limits` (one per listener) so that every listener at its cap stays below
// `file_limit` (each connection holds two descriptors, and `reserve` are kept for the rest of
// the process). Returns a warning to log when a cap was lowered, empty otherwise.
std::string FitToFileLimit(size_t file_limit, size_t reserve,
                           std::vector<ConnectionLimits*> limits);

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_GUARDED_LISTENER_H_
