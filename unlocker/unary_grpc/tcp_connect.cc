#include "unlocker/unary_grpc/tcp_connect.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace kb::unary_grpc {
namespace {

// Milliseconds left until `deadline` for poll(2), rounded up; 0 once it has passed.
int PollTimeout(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
                        std::numeric_limits<int>::max()));
}

}  // namespace

absl::Status SocketError(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

absl::Status WaitForSocket(int fd, short events, absl::Time deadline) {
  for (;;) {
    const int timeout = PollTimeout(deadline);
    if (timeout == 0) return absl::DeadlineExceededError("deadline passed");
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, timeout);
    if (r > 0) return absl::OkStatus();
    if (r < 0 && errno != EINTR) return SocketError("poll", errno);
  }
}

namespace {

// A non-blocking TCP connection to `address`, established by `deadline`.
absl::StatusOr<int> ConnectTo(const addrinfo& address, absl::Time deadline) {
  const int fd = socket(address.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return SocketError("socket", errno);
  absl::Status status;
  if (connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    status =
        errno == EINPROGRESS ? WaitForSocket(fd, POLLOUT, deadline) : SocketError("connect", errno);
    int err = 0;
    socklen_t len = sizeof(err);
    if (status.ok() && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      status = SocketError("connect", err);
    }
  }
  if (!status.ok()) {
    close(fd);
    return status;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

using AddrInfoPtr = std::unique_ptr<addrinfo, void (*)(addrinfo*)>;

absl::Status ResolveError(const HostPort& hp, int error) {
  return absl::UnavailableError(
      absl::StrCat("cannot resolve '", hp.host, "': ", gai_strerror(error)));
}

// A name lookup on its own thread, so that the caller can stop waiting at its deadline
// (glibc's resolver alone may retry for much longer). The thread owns a share of the state and
// finishes on its own when the caller has gone. (Not getaddrinfo_a: its helper threads end in
// pthread_exit, which needs libgcc_s.so.1, absent from minimal systems; kbunlock is linked
// with -static-libgcc.)
struct Lookup {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  int error ABSL_GUARDED_BY(mu) = 0;
  addrinfo* result ABSL_GUARDED_BY(mu) = nullptr;
  ~Lookup() {
    if (result != nullptr) freeaddrinfo(result);
  }
};

// The addresses of `hp`, by `deadline`. A literal address resolves at once, without a thread.
absl::StatusOr<AddrInfoPtr> Resolve(const HostPort& hp, absl::Time deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  addrinfo* found = nullptr;
  int e = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found);
  if (e == 0) return AddrInfoPtr(found, &freeaddrinfo);
  if (e != EAI_NONAME) return ResolveError(hp, e);
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, hp] {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* result = nullptr;
    const int error = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &result);
    absl::MutexLock lock(&lookup->mu);
    std::tie(lookup->done, lookup->error, lookup->result) = std::tuple(true, error, result);
  }).detach();
  absl::MutexLock lock(&lookup->mu);
  if (!lookup->mu.AwaitWithDeadline(absl::Condition(&lookup->done), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat("no address for '", hp.host, "' in time"));
  }
  if (lookup->error != 0) return ResolveError(hp, lookup->error);
  return AddrInfoPtr(std::exchange(lookup->result, nullptr), &freeaddrinfo);
}

}  // namespace

absl::StatusOr<int> ConnectTcp(const HostPort& hp, absl::Time deadline) {
  absl::StatusOr<AddrInfoPtr> found = Resolve(hp, deadline);
  if (!found.ok()) return found.status();
  int left = 0;
  for (const addrinfo* a = found->get(); a != nullptr; a = a->ai_next) ++left;
  absl::Status last = absl::UnavailableError("no address");
  for (const addrinfo* a = found->get(); a != nullptr; a = a->ai_next, --left) {
    // Each address gets its share of the time left, so that one that drops packets does not
    // take it all from the next (the last one gets the rest).
    const absl::Time share = absl::Now() + (deadline - absl::Now()) / left;
    absl::StatusOr<int> fd = ConnectTo(*a, left == 1 ? deadline : share);
    if (fd.ok() || absl::Now() >= deadline) return fd;
    last = fd.status();
  }
  return last;
}

absl::StatusOr<HostPort> SplitHostPort(absl::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == endpoint.size()) {
    return absl::InvalidArgumentError(absl::StrCat("'", endpoint, "' has no port"));
  }
  HostPort hp{std::string(endpoint.substr(0, colon)), std::string(endpoint.substr(colon + 1))};
  if (hp.host.size() > 1 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  uint32_t port = 0;
  if (hp.host.empty() || !absl::SimpleAtoi(hp.port, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", endpoint, "' is not host:port"));
  }
  return hp;
}

}  // namespace kb::unary_grpc
