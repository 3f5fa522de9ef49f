#ifndef KB_UNLOCKER_UNARY_GRPC_TLS_CONNECTION_H_
#define KB_UNLOCKER_UNARY_GRPC_TLS_CONNECTION_H_

// A TLS client connection with a deadline on every step, for one HTTP/2 peer: the server's
// certificate verified against one CA bundle only, its name or address checked, ALPN "h2"
// required. OpenSSL works on memory buffers and the socket is driven here with send(2)'s
// MSG_NOSIGNAL, so a peer that hangs up cannot raise SIGPIPE in the host process (the token
// plugin runs inside cryptsetup, which does not ignore it).

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "unlocker/unary_grpc/byte_stream.h"
#include "unlocker/unary_grpc/tcp_connect.h"

namespace kb::unary_grpc {

// The payloads of a status for a server certificate that did not verify: the X.509 error
// number (decimal) and the chain the server presented (PEM, leaf first), so that the caller can
// explain the refusal without a second handshake.
inline constexpr char kVerifyErrorPayload[] = "kb.unary_grpc/verify-error";
inline constexpr char kPeerChainPayload[] = "kb.unary_grpc/peer-chain";
// The X.509 error of such a status; nullopt for any other status.
std::optional<int> CertificateVerifyError(const absl::Status& status);

using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL_free>>;

// A client context that trusts the certificates of `ca_pem` and nothing else (no system store),
// TLS 1.2 or later. INVALID_ARGUMENT when `ca_pem` holds no certificate.
absl::StatusOr<SslCtxPtr> NewClientContext(absl::string_view ca_pem);

class TlsConnection final : public ByteStream {
 public:
  // Connects to `endpoint` ("host:port", "[v6]:port"), trying each address it resolves to, and
  // completes the handshake by `deadline`. UNAVAILABLE when no connection or handshake
  // succeeds, DEADLINE_EXCEEDED when `deadline` passes first, UNAVAILABLE with the payloads
  // above when the certificate is refused.
  static absl::StatusOr<std::unique_ptr<TlsConnection>> Connect(SSL_CTX* ctx,
                                                                absl::string_view endpoint,
                                                                absl::Time deadline);
  ~TlsConnection() override;
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  absl::Status Write(absl::string_view data, absl::Time deadline) override;
  absl::StatusOr<size_t> Read(char* out, size_t size, absl::Time deadline) override;
  bool HasInputOrClosed() override;

 private:
  TlsConnection(SslPtr ssl, int fd);

  absl::Status Handshake(absl::Time deadline);
  // Sends what OpenSSL wrote to its output buffer.
  absl::Status Flush(absl::Time deadline);
  // Waits for the socket to be readable, then hands what arrived to OpenSSL.
  absl::Status Receive(absl::Time deadline);

  SslPtr ssl_;
  BIO* in_;   // owned by ssl_: bytes from the socket, for OpenSSL
  BIO* out_;  // owned by ssl_: bytes from OpenSSL, for the socket
  int fd_;
  std::string unsent_;  // from OpenSSL, not yet taken by the socket
};

}  // namespace kb::unary_grpc

#endif  // KB_UNLOCKER_UNARY_GRPC_TLS_CONNECTION_H_
