#include "tests/attack/raw_connections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace kb {

RawConnections::RawConnections() {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof(kAlpn));
}

RawConnections::~RawConnections() {
  CloseAll();
  SSL_CTX_free(ctx_);
}

int RawConnections::Connect(const std::string& source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool RawConnections::OpenHalfOpen(const std::string& source, int port) {
  const int fd = Connect(source, port);
  if (fd < 0) return false;
  fds_.push_back(fd);
  return true;
}

bool RawConnections::OpenIdleTls(const std::string& source, int port) {
  const int fd = Connect(source, port);
  if (fd < 0) return false;
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd);
  // The HTTP/2 client preface and an empty SETTINGS frame (length 0, type 4, stream 0).
  static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
  const bool ok = SSL_connect(ssl) == 1 && SSL_write(ssl, kPreface, sizeof(kPreface) - 1) > 0;
  fds_.push_back(fd);
  ssls_.push_back(ssl);
  return ok;
}

size_t RawConnections::ClosedByServer() const {
  size_t closed = 0;
  for (int fd : fds_) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) ++closed;
  }
  return closed;
}

void RawConnections::CloseAll() {
  for (SSL* ssl : ssls_) SSL_free(ssl);
  for (int fd : fds_) close(fd);
  ssls_.clear();
  fds_.clear();
}

}  // namespace kb
