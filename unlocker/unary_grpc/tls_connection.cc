#include "unlocker/unary_grpc/tls_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kb::unary_grpc {
namespace {

constexpr size_t kChunk = 16 * 1024;

// The last OpenSSL error queued, in words (system errors included), and the queue cleared.
std::string SslErrorText() {
  const unsigned long e = ERR_peek_last_error();
  char text[256] = "the connection was closed";
  if (e != 0) ERR_error_string_n(e, text, sizeof(text));
  ERR_clear_error();
  return text;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr buf;
  return inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

// The name check, SNI and ALPN for a connection to `host`.
absl::Status ConfigurePeerCheck(SSL* ssl, const std::string& host) {
  bool ok = SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>("\x02h2"), 3) == 0;
  if (IsIpLiteral(host)) {
    ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = ok && SSL_set1_host(ssl, host.c_str()) == 1 &&
         SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  }
  return ok ? absl::OkStatus() : OpenSslError("setting up the server's name check");
}

absl::Status CertificateRefused(SSL* ssl) {
  const long error = SSL_get_verify_result(ssl);
  absl::Status s = absl::UnavailableError(
      absl::StrCat("the server's certificate was refused: ", X509_verify_cert_error_string(error)));
  s.SetPayload(kVerifyErrorPayload, absl::Cord(absl::StrCat(error)));
  std::string pem;
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl); chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) pem += CertificatePem(sk_X509_value(chain, i));
  }
  s.SetPayload(kPeerChainPayload, absl::Cord(pem));
  ERR_clear_error();
  return s;
}

}  // namespace

std::optional<int> CertificateVerifyError(const absl::Status& status) {
  const auto payload = status.GetPayload(kVerifyErrorPayload);
  int error = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &error)) {
    return std::nullopt;
  }
  return error;
}

absl::StatusOr<SslCtxPtr> NewClientContext(absl::string_view ca_pem) {
  absl::StatusOr<std::vector<X509Ptr>> cas = ReadPemCertificates(ca_pem);
  if (!cas.ok() || cas->empty()) {
    return absl::InvalidArgumentError("the CA bundle holds no PEM certificate");
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return OpenSslError("SSL_CTX_new");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const X509Ptr& ca : *cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1) return OpenSslError("X509_STORE_add_cert");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);  // TLS 1.2: nothing after the handshake
  return ctx;
}

absl::StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Connect(SSL_CTX* ctx,
                                                                      absl::string_view endpoint,
                                                                      absl::Time deadline) {
  absl::StatusOr<HostPort> hp = SplitHostPort(endpoint);
  if (!hp.ok()) return hp.status();
  absl::StatusOr<int> fd = ConnectTcp(*hp, deadline);
  if (!fd.ok()) return fd.status();
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) {
    close(*fd);
    return OpenSslError("SSL_new");
  }
  std::unique_ptr<TlsConnection> c(new TlsConnection(std::move(ssl), *fd));
  if (c->in_ == nullptr || c->out_ == nullptr) return OpenSslError("BIO_new");
  if (absl::Status s = ConfigurePeerCheck(c->ssl_.get(), hp->host); !s.ok()) return s;
  if (absl::Status s = c->Handshake(deadline); !s.ok()) return s;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(c->ssl_.get(), &alpn, &alpn_len);
  if (absl::string_view(reinterpret_cast<const char*>(alpn), alpn_len) != "h2") {
    return absl::UnavailableError(
        "the server did not agree to HTTP/2 (ALPN h2): not a gRPC server");
  }
  return c;
}

TlsConnection::TlsConnection(SslPtr ssl, int fd)
    : ssl_(std::move(ssl)), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())), fd_(fd) {
  if (in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    return;
  }
  BIO_set_mem_eof_return(in_, -1);  // empty means "wait for more", not end of stream
  SSL_set_bio(ssl_.get(), in_, out_);
  SSL_set_connect_state(ssl_.get());
}

TlsConnection::~TlsConnection() { close(fd_); }

absl::Status TlsConnection::Handshake(absl::Time deadline) {
  for (;;) {
    ERR_clear_error();  // SSL_get_error reads the thread's queue: an old entry would mislead it
    const int r = SSL_do_handshake(ssl_.get());
    const int error = SSL_get_error(ssl_.get(), r);
    absl::Status flushed = Flush(deadline);
    if (r == 1) return flushed;
    if (SSL_get_verify_result(ssl_.get()) != X509_V_OK) return CertificateRefused(ssl_.get());
    if (error != SSL_ERROR_WANT_READ) {
      return absl::UnavailableError(absl::StrCat("TLS handshake failed: ", SslErrorText()));
    }
    if (!flushed.ok()) return flushed;
    // A peer that keeps the socket full of records the handshake skips (OpenSSL 3.0 drops
    // HelloRequests before the ServerHello without counting them) never lets Receive() wait,
    // which is where the deadline is otherwise checked. What arrived was processed above.
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("deadline passed");
    if (absl::Status s = Receive(deadline); !s.ok()) return s;
  }
}

absl::Status TlsConnection::Write(absl::string_view data, absl::Time deadline) {
  ERR_clear_error();
  if (!data.empty() && SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) <= 0) {
    return absl::UnavailableError(absl::StrCat("TLS write failed: ", SslErrorText()));
  }
  return Flush(deadline);
}

absl::StatusOr<size_t> TlsConnection::Read(char* out, size_t size, absl::Time deadline) {
  for (bool received = false;;) {
    // SSL_get_error reads the thread's error queue: an entry left by any earlier OpenSSL call
    // of this thread (a file not found, ...) would turn "wait for more" into a failure.
    ERR_clear_error();
    const int r = SSL_read(ssl_.get(), out, static_cast<int>(std::min(size, kChunk)));
    const int error = SSL_get_error(ssl_.get(), r);
    if (absl::Status s = Flush(deadline); !s.ok()) return s;  // e.g. a KeyUpdate's answer
    if (r > 0) return static_cast<size_t>(r);
    if (error == SSL_ERROR_ZERO_RETURN) {
      return absl::UnavailableError("the server closed the connection");
    }
    if (error != SSL_ERROR_WANT_READ) {
      return absl::UnavailableError(absl::StrCat("TLS read failed: ", SslErrorText()));
    }
    // A peer that keeps sending what is not application data (session tickets, ...) must not
    // hold the call past its deadline. The first pass reads what is there even after it.
    if (received && absl::Now() >= deadline) {
      return absl::DeadlineExceededError("deadline passed");
    }
    if (absl::Status s = Receive(deadline); !s.ok()) return s;
    received = true;
  }
}

bool TlsConnection::HasInputOrClosed() {
  if (SSL_pending(ssl_.get()) > 0 || BIO_ctrl_pending(in_) > 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return poll(&p, 1, 0) != 0;
}

absl::Status TlsConnection::Flush(absl::Time deadline) {
  // Bytes leave unsent_ only once the socket took them: a Flush cut short by its deadline
  // leaves no record half sent for the next one to write after.
  char buf[kChunk];
  for (int n; (n = BIO_read(out_, buf, sizeof(buf))) > 0;) unsent_.append(buf, n);
  while (!unsent_.empty()) {
    const ssize_t w = send(fd_, unsent_.data(), unsent_.size(), MSG_NOSIGNAL);
    if (w > 0) {
      unsent_.erase(0, static_cast<size_t>(w));
    } else if (errno == EAGAIN || errno == EINTR) {
      if (absl::Status s = WaitForSocket(fd_, POLLOUT, deadline); !s.ok()) return s;
    } else {
      return SocketError("send", errno);
    }
  }
  return absl::OkStatus();
}

absl::Status TlsConnection::Receive(absl::Time deadline) {
  char buf[kChunk];
  for (;;) {
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      return BIO_write(in_, buf, static_cast<int>(n)) == n ? absl::OkStatus()
                                                           : OpenSslError("BIO_write");
    }
    if (n == 0) return absl::UnavailableError("the server closed the connection");
    if (errno != EAGAIN && errno != EINTR) return SocketError("recv", errno);
    if (absl::Status s = WaitForSocket(fd_, POLLIN, deadline); !s.ok()) return s;
  }
}

}  // namespace kb::unary_grpc
