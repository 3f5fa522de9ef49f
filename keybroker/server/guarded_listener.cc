#include "keybroker/server/guarded_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace kb {
namespace {

constexpr int kBacklog = 1024;
// After an accept() failure for want of resources, the listener waits this long.
constexpr absl::Duration kAcceptPause = absl::Milliseconds(100);
// Refusals and evictions are summed into one log line at most this often.
constexpr absl::Duration kSummaryEvery = absl::Seconds(10);

struct HostPort {
  std::string host;
  std::string port;
};

absl::StatusOr<HostPort> Split(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not host:port"));
  }
  HostPort hp{address.substr(0, colon), address.substr(colon + 1)};
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  return hp;
}

// The client's IP address without the port; IPv4-mapped IPv6 addresses as IPv4.
std::string SourceOf(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof(text));
  } else if (addr.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &a6, text, sizeof(text));
    }
  }
  return text;
}

// Closes with a TCP reset: no FIN handshake, no TIME_WAIT, nothing for the client to read.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

absl::StatusOr<int> BindSocket(const std::string& name, const std::string& address) {
  auto hp = Split(address);
  if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", hp.status().message()));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), hp->port.c_str(), &hints,
                           &res);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " ", address, ": cannot resolve: ", gai_strerror(rc)));
  }
  const int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1, zero = 0;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // restarts over TIME_WAIT
    if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  const bool ok =
      fd >= 0 && bind(fd, res->ai_addr, res->ai_addrlen) == 0 && listen(fd, kBacklog) == 0;
  const int err = errno;
  freeaddrinfo(res);
  if (!ok) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat(name, " ", address, ": cannot listen: ", strerror(err),
                     err == EADDRINUSE ? " (is another keybrokerd or service on that port?)" : ""));
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GuardedListener>> GuardedListener::Bind(const std::string& name,
                                                                       const std::string& address,
                                                                       ConnectionLimits limits) {
  auto fd = BindSocket(name, address);
  if (!fd.ok()) return fd.status();
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&local), &len);
  const int port =
      ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                                        : reinterpret_cast<sockaddr_in&>(local).sin_port);
  return std::unique_ptr<GuardedListener>(new GuardedListener(name, *fd, port, limits));
}

GuardedListener::GuardedListener(std::string name, int fd, int port, ConnectionLimits limits)
    : name_(std::move(name)), listen_fd_(fd), port_(port), limits_(limits), table_(limits) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

GuardedListener::~GuardedListener() {
  Stop();
  for (int64_t id : table_.Ids()) close(static_cast<int>(id));
  close(listen_fd_);
  close(epoll_fd_);
  close(wake_fd_);
}

void GuardedListener::Start(
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { Loop(); });
}

void GuardedListener::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

ListenerStats GuardedListener::stats() const {
  return {open_.load(),    accepted_.load(),    refused_source_.load(), refused_full_.load(),
          evicted_.load(), closed_idle_.load(), accept_failures_.load()};
}

void GuardedListener::Loop() {
  epoll_event events[64];
  absl::Time next_sweep = absl::Now() + absl::Seconds(1);
  while (!stop_) {
    const int n = epoll_wait(epoll_fd_, events, 64, 250);
    bool acceptable = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        acceptable = true;
      } else if (fd != wake_fd_) {
        Forget(fd);  // only hang-ups and errors are asked for on tracked sockets
      }
    }
    // After the hang-ups: an accept may reuse the number of a descriptor forgotten above.
    if (acceptable) AcceptAll();
    const absl::Time now = absl::Now();
    if (paused_until_ != absl::InfinitePast() && now >= paused_until_) {
      paused_until_ = absl::InfinitePast();
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = listen_fd_;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    }
    if (now >= next_sweep) {
      SweepIdle();
      trimmer_.Observe(table_.size(), table_.TakePeak(), now);
      LogSummary(false);
      next_sweep = now + absl::Seconds(1);
    }
  }
}

void GuardedListener::AcceptAll() {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Admit(fd, addr);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or anything else: the
    // listener pauses and tries again; it never stops accepting.
    if (accept_failures_++ % 1000 == 0) {
      LogError("%s: accept failed: %s; retrying in %s (%d failures so far)", name_, strerror(errno),
               absl::FormatDuration(kAcceptPause), accept_failures_.load());
    }
    paused_until_ = absl::Now() + kAcceptPause;
    epoll_event ev{};
    ev.data.fd = listen_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    return;
  }
}

std::optional<absl::Duration> GuardedListener::Idle(int track_fd) const {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(track_fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (info.tcpi_state != TCP_ESTABLISHED) return std::nullopt;
  return absl::Milliseconds(info.tcpi_last_data_recv);
}

void GuardedListener::Admit(int fd, const sockaddr_storage& peer) {
  const std::string source = SourceOf(peer);
  ConnectionTable::Admission a =
      table_.Admit(source, [this](int64_t id) { return Idle(static_cast<int>(id)); });
  if (a.verdict != ConnectionTable::Admission::kAdmit) {
    (a.verdict == ConnectionTable::Admission::kRefuseSourceFull ? refused_source_
                                                                : refused_full_)++;
    Reset(fd);
    return;
  }
  if (a.evict.has_value()) Evict(static_cast<int>(*a.evict));
  const int track = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (track < 0) {
    accept_failures_++;
    Reset(fd);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLRDHUP | EPOLLET;  // EPOLLHUP and EPOLLERR are always reported
  ev.data.fd = track;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, track, &ev);
  // gRPC's own listener sets TCP_NODELAY; its external connection path does not. Without it
  // Nagle's algorithm holds back the small HTTP/2 frames: 115 instead of 426 releases/s with a
  // new connection each (release_bench --listener-only, measured without this line).
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  table_.Add(track, source);
  open_ = table_.size();
  accepted_++;
  grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
  p.listener_fd = listen_fd_;
  p.fd = fd;
  acceptor_->HandleNewConnection(&p);
}

void GuardedListener::Forget(int track_fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, track_fd, nullptr);
  close(track_fd);
  table_.Remove(track_fd);
  open_ = table_.size();
}

// Shuts the socket down under gRPC (which then drops the connection) and forgets it at once.
void GuardedListener::Evict(int track_fd) {
  shutdown(track_fd, SHUT_RDWR);
  Forget(track_fd);
  evicted_++;
}

// A backstop behind gRPC's own handshake and idle timers: a connection that has received
// nothing for longer than both is closed.
void GuardedListener::SweepIdle() {
  const absl::Duration limit = limits_.handshake_timeout + limits_.idle_timeout;
  for (int64_t id : table_.Ids()) {
    std::optional<absl::Duration> idle = Idle(static_cast<int>(id));
    if (!idle.has_value()) {
      Forget(static_cast<int>(id));
    } else if (*idle > limit) {
      shutdown(static_cast<int>(id), SHUT_RDWR);
      Forget(static_cast<int>(id));
      closed_idle_++;
    }
  }
}

void GuardedListener::LogSummary(bool force) {
  const absl::Time now = absl::Now();
  if (!force && now - last_summary_ < kSummaryEvery) return;
  const ListenerStats s = stats();
  if (s.refused_source == logged_.refused_source && s.refused_full == logged_.refused_full &&
      s.evicted == logged_.evicted && s.closed_idle == logged_.closed_idle) {
    return;
  }
  LogWarning(
      "%s: %d connections open; since the last report refused %d (address at its cap of %d) "
      "and %d (listener full at %d), evicted %d idle, closed %d idle",
      name_, s.open, s.refused_source - logged_.refused_source, limits_.max_per_source,
      s.refused_full - logged_.refused_full, limits_.max_connections, s.evicted - logged_.evicted,
      s.closed_idle - logged_.closed_idle);
  logged_ = s;
  last_summary_ = now;
}

size_t RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<size_t>(rl.rlim_cur);
}

std::string FitToFileLimit(size_t file_limit, size_t reserve,
                           std::vector<ConnectionLimits*> limits) {
  size_t wanted = 0;
  for (const ConnectionLimits* l : limits) wanted += 2 * l->max_connections;
  const size_t available = file_limit > reserve ? file_limit - reserve : 0;
  if (wanted <= available) return "";
  std::string lowered;
  for (ConnectionLimits* l : limits) {
    const size_t cap = std::max<size_t>(1, l->max_connections * available / wanted);
    absl::StrAppend(&lowered, lowered.empty() ? "" : ", ", l->max_connections, " -> ", cap);
    l->max_connections = cap;
    l->max_per_source = std::min(l->max_per_source, cap);
  }
  return absl::StrCat("open-file limit ", file_limit,
                      " is too low for connection_limits.max_connections; lowered to fit: ",
                      lowered, " (raise LimitNOFILE to keep the configured caps)");
}

}  // namespace kb
