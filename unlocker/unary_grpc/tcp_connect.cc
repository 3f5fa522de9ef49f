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

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kb::unary_grpc {
namespace {

absl::Status Unavailable(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

// Milliseconds left until `deadline` for poll(2), rounded up; 0 once it has passed.
int PollTimeout(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
                        std::numeric_limits<int>::max()));
}

}  // namespace

absl::Status WaitForSocket(int fd, short events, absl::Time deadline) {
  for (;;) {
    const int timeout = PollTimeout(deadline);
    if (timeout == 0) return absl::DeadlineExceededError("deadline passed");
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, timeout);
    if (r > 0) return absl::OkStatus();
    if (r < 0 && errno != EINTR) return Unavailable("poll", errno);
  }
}

namespace {

// A non-blocking TCP connection to `address`, established by `deadline`.
absl::StatusOr<int> ConnectTo(const addrinfo& address, absl::Time deadline) {
  const int fd = socket(address.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Unavailable("socket", errno);
  absl::Status status;
  if (connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    status =
        errno == EINPROGRESS ? WaitForSocket(fd, POLLOUT, deadline) : Unavailable("connect", errno);
    int err = 0;
    socklen_t len = sizeof(err);
    if (status.ok() && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      status = Unavailable("connect", err);
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

// The addresses of `hp`, looked up by `deadline` (getaddrinfo_a: glibc's resolver alone may
// retry for much longer). A literal address resolves at once.
absl::StatusOr<AddrInfoPtr> Resolve(const HostPort& hp, absl::Time deadline) {
  // A lookup still running at the deadline keeps writing into its request: it is left
  // allocated when it cannot be cancelled.
  auto* request = new gaicb{};
  auto* hints = new addrinfo{};
  hints->ai_socktype = SOCK_STREAM;
  hints->ai_flags = AI_NUMERICSERV;
  auto* name = new std::string(hp.host);
  auto* service = new std::string(hp.port);
  *request = {name->c_str(), service->c_str(), hints, nullptr};
  auto release = [&] {
    delete request;
    delete hints;
    delete name;
    delete service;
  };
  gaicb* list[] = {request};
  if (int e = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); e != 0) {
    release();
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", hp.host, "': ", gai_strerror(e)));
  }
  int e = EAI_INPROGRESS;
  while ((e = gai_error(request)) == EAI_INPROGRESS && absl::Now() < deadline) {
    const timespec left = absl::ToTimespec(deadline - absl::Now());
    gai_suspend(list, 1, &left);
  }
  if (e == EAI_INPROGRESS) {
    const int cancelled = gai_cancel(request);
    if (cancelled != EAI_ALLDONE) {
      if (cancelled == EAI_CANCELED) release();
      return absl::DeadlineExceededError(absl::StrCat("no address for '", hp.host, "' in time"));
    }
  }
  e = gai_error(request);
  AddrInfoPtr found(e == 0 ? request->ar_result : nullptr, &freeaddrinfo);
  release();
  if (e != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", hp.host, "': ", gai_strerror(e)));
  }
  return found;
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
