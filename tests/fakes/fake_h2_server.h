#ifndef KB_TESTS_FAKES_FAKE_H2_SERVER_H_
#define KB_TESTS_FAKES_FAKE_H2_SERVER_H_

// A scripted TLS server on 127.0.0.1 for the guest's unary gRPC client (unlocker/unary_grpc):
// it serves one connection at a time in its own thread, either speaking HTTP/2 (nghttp2's
// server side) and answering each call as the test's script says, or misbehaving below it.

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kb::testing {

// How the server answers one call.
struct H2Reply {
  enum class Kind {
    kMessage,       // HEADERS, the message in DATA frames of `chunk` bytes, trailers
    kTrailersOnly,  // one HEADERS block with grpc-status and grpc-message
    kHttpOnly,      // `http_status`, no gRPC status at all, `raw_data` as a text/html body
    kReset,         // RST_STREAM with `reset_code`
    kSilence,       // nothing, ever
    kHangUp,        // the connection closed, nothing answered
  };
  Kind kind = Kind::kMessage;
  std::string message;   // serialized response (kMessage)
  std::string raw_data;  // sent as DATA in place of the framed message when not empty
  size_t chunk = 16384;
  std::string grpc_status = "0";
  std::string grpc_message;
  int http_status = 200;
  uint32_t reset_code = 0;
  bool goaway_after = false;  // GOAWAY and close once the answer is out
  // kMessage: a grpc-status already in the headers before the message (which does not count)
  std::string early_grpc_status;
  bool reset_after_data = false;      // kMessage: RST_STREAM(INTERNAL_ERROR) in place of trailers
  bool no_trailers = false;           // kMessage: END_STREAM on the last DATA, no trailers
  bool reset_no_error_after = false;  // kTrailersOnly: then RST_STREAM(NO_ERROR)
};

// What the server saw of one call.
struct H2Request {
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // as sent: prefix and message
};

class FakeH2Server {
 public:
  enum class Mode {
    kHttp2,                 // TLS with ALPN h2, then HTTP/2
    kHttp2AnswerOnHeaders,  // the same, answering each call at its HEADERS, before its body
    kNoAlpn,                // TLS without ALPN, then silence
    kCloseAfterHandshake,
    kResetAfterHandshake,  // closed with a TCP reset (SO_LINGER 0)
  };
  using Script = std::function<H2Reply(const H2Request&)>;

  // Serves on `address` (a loopback IPv4 address) with the certificate and key in PEM files
  // `cert` and `key`.
  static absl::StatusOr<std::unique_ptr<FakeH2Server>> Start(
      const std::string& cert, const std::string& key, Mode mode, Script script,
      const std::string& address = "127.0.0.1");
  ~FakeH2Server();

  int port() const { return port_; }
  std::string endpoint() const { return address_ + ":" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  std::vector<H2Request> requests();

 private:
  FakeH2Server(SSL_CTX* ctx, int listen_fd, std::string address, int port, Mode mode,
               Script script);
  void AcceptLoop();
  void Serve(SSL* ssl);
  void ServeHttp2(SSL* ssl);

  SSL_CTX* ctx_;
  int listen_fd_;
  std::string address_;
  int port_;
  Mode mode_;
  Script script_;
  std::atomic<int> connections_{0};
  std::atomic<int> current_fd_{-1};
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  std::vector<H2Request> requests_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
  friend struct H2Session;
};

}  // namespace kb::testing

#endif  // KB_TESTS_FAKES_FAKE_H2_SERVER_H_
