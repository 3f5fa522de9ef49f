#ifndef KB_TESTS_ATTACK_RAW_CONNECTIONS_H_
#define KB_TESTS_ATTACK_RAW_CONNECTIONS_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

namespace kb {

// Connections an attacker holds open, made below gRPC: plain TCP sockets bound to a chosen
// loopback source address (127.0.x.y), optionally through a TLS handshake and the HTTP/2
// preface, then left idle. Closed by the destructor.
class RawConnections {
 public:
  RawConnections();
  ~RawConnections();

  // A TCP connection from `source` to 127.0.0.1:`port` that sends nothing (half-open for TLS).
  // Returns false if connect() failed.
  bool OpenHalfOpen(const std::string& source, int port);
  // A TCP connection from `source` that completes TLS (ALPN h2, no certificate checks) and
  // sends the HTTP/2 preface and an empty SETTINGS frame, then stays idle. False on failure.
  bool OpenIdleTls(const std::string& source, int port);

  size_t size() const { return fds_.size(); }
  // How many of the held connections the server has closed or reset by now.
  size_t ClosedByServer() const;
  void CloseAll();

 private:
  int Connect(const std::string& source, int port);

  SSL_CTX* ctx_ = nullptr;
  std::vector<int> fds_;
  std::vector<SSL*> ssls_;
};

}  // namespace kb

#endif  // KB_TESTS_ATTACK_RAW_CONNECTIONS_H_
