#include "tests/fakes/fake_h2_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "unlocker/unary_grpc/grpc_wire.h"

namespace kb::testing {
namespace {

int SelectH2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
             unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (nghttp2_select_next_protocol(&selected, outlen, in, inlen) != 1) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Points into `name` and `value`, which must outlive the submit call that copies them.
nghttp2_nv Nv(absl::string_view name, absl::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// One HTTP/2 connection's server side.
struct H2Session {
  struct Stream {
    H2Request request;
    H2Reply reply;
    std::string out;
    size_t sent = 0;
    std::vector<std::string> trailer_text;  // keeps the trailers' bytes alive
    bool answered = false;
  };

  FakeH2Server* server;
  nghttp2_session* session = nullptr;
  std::map<int32_t, Stream> streams;
  bool close_after_send = false;
  bool hang_up = false;
  bool answer_on_headers = false;  // Mode::kHttp2AnswerOnHeaders

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self) {
    Stream& s = static_cast<H2Session*>(self)->streams[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":path") s.request.path = v;
    s.request.headers.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static int OnData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* self) {
    static_cast<H2Session*>(self)->streams[id].request.body.append(
        reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto* h = static_cast<H2Session*>(self);
    const bool ends = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    const bool headers = frame->hd.type == NGHTTP2_HEADERS;
    if ((ends && (headers || frame->hd.type == NGHTTP2_DATA)) ||
        (headers && h->answer_on_headers)) {
      if (!h->streams[frame->hd.stream_id].answered) h->Respond(frame->hd.stream_id);
    }
    return 0;
  }

  // Once an answer's HEADERS ending the stream are out: RST_STREAM(NO_ERROR) when the reply
  // asks for it, as gRPC's servers do when they answered before the request ended (RFC 9113,
  // 8.1). Submitted with the answer, nghttp2 would send the reset first.
  static int OnFrameSent(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
    auto* h = static_cast<H2Session*>(self);
    if (frame->hd.type != NGHTTP2_HEADERS || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
      return 0;
    }
    auto it = h->streams.find(frame->hd.stream_id);
    if (it != h->streams.end() && it->second.reply.reset_no_error_after) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* self) {
    Stream& s = static_cast<H2Session*>(self)->streams[id];
    const size_t n = std::min({length, s.reply.chunk, s.out.size() - s.sent});
    memcpy(buf, s.out.data() + s.sent, n);
    s.sent += n;
    if (s.sent == s.out.size() && s.reply.no_trailers) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (s.sent == s.out.size() && s.reply.reset_after_data) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    } else if (s.sent == s.out.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      s.trailer_text = {"grpc-status", s.reply.grpc_status, "grpc-message", s.reply.grpc_message};
      std::array<nghttp2_nv, 2> trailers = {Nv(s.trailer_text[0], s.trailer_text[1]),
                                            Nv(s.trailer_text[2], s.trailer_text[3])};
      nghttp2_submit_trailer(session, id, trailers.data(), s.reply.grpc_message.empty() ? 1 : 2);
    }
    return static_cast<ssize_t>(n);
  }

  // The response headers `nva`, then the stream's `out` as DATA (ReadBody).
  void SubmitWithBody(int32_t id, const std::vector<nghttp2_nv>& nva) {
    nghttp2_data_provider body;
    body.source.ptr = nullptr;
    body.read_callback = &ReadBody;
    nghttp2_submit_response(session, id, nva.data(), nva.size(), &body);
  }

  void Respond(int32_t id) {
    Stream& s = streams[id];
    s.answered = true;
    {
      absl::MutexLock lock(&server->mu_);
      server->requests_.push_back(s.request);
    }
    s.reply = server->script_(s.request);
    close_after_send = s.reply.goaway_after;
    const std::string status = std::to_string(s.reply.http_status);
    std::vector<nghttp2_nv> nva = {Nv(":status", status)};
    static const std::string kType = "content-type", kGrpc = "application/grpc";
    static const std::string kStatus = "grpc-status", kMessage = "grpc-message";
    switch (s.reply.kind) {
      case H2Reply::Kind::kMessage: {
        nva.push_back(Nv(kType, kGrpc));
        if (!s.reply.early_grpc_status.empty()) {
          nva.push_back(Nv(kStatus, s.reply.early_grpc_status));
        }
        s.out =
            s.reply.raw_data.empty() ? unary_grpc::FrameMessage(s.reply.message) : s.reply.raw_data;
        SubmitWithBody(id, nva);
        return;
      }
      case H2Reply::Kind::kTrailersOnly:
        nva.push_back(Nv(kType, kGrpc));
        nva.push_back(Nv(kStatus, s.reply.grpc_status));
        if (!s.reply.grpc_message.empty()) nva.push_back(Nv(kMessage, s.reply.grpc_message));
        nghttp2_submit_response(session, id, nva.data(), nva.size(), nullptr);
        return;
      case H2Reply::Kind::kHttpOnly: {
        if (s.reply.raw_data.empty()) {
          nghttp2_submit_response(session, id, nva.data(), nva.size(), nullptr);
          return;
        }
        static const std::string kHtml = "text/html";  // a proxy's error page
        nva.push_back(Nv(kType, kHtml));
        s.out = s.reply.raw_data;
        s.reply.no_trailers = true;
        SubmitWithBody(id, nva);
        return;
      }
      case H2Reply::Kind::kReset:
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, s.reply.reset_code);
        return;
      case H2Reply::Kind::kSilence:
        return;
      case H2Reply::Kind::kHangUp:
        hang_up = true;
        return;
    }
  }
};

absl::StatusOr<std::unique_ptr<FakeH2Server>> FakeH2Server::Start(const std::string& cert,
                                                                  const std::string& key, Mode mode,
                                                                  Script script,
                                                                  const std::string& address) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx);
    return absl::InternalError("fake server: certificate or key");
  }
  if (mode != Mode::kNoAlpn) SSL_CTX_set_alpn_select_cb(ctx, &SelectH2, nullptr);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  socklen_t len = sizeof(addr);
  if (fd < 0 || inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    SSL_CTX_free(ctx);
    if (fd >= 0) close(fd);
    return absl::InternalError("fake server: listen");
  }
  return std::unique_ptr<FakeH2Server>(
      new FakeH2Server(ctx, fd, address, ntohs(addr.sin_port), mode, std::move(script)));
}

FakeH2Server::FakeH2Server(SSL_CTX* ctx, int listen_fd, std::string address, int port, Mode mode,
                           Script script)
    : ctx_(ctx),
      listen_fd_(listen_fd),
      address_(std::move(address)),
      port_(port),
      mode_(mode),
      script_(std::move(script)) {
  thread_ = std::thread([this] { AcceptLoop(); });
}

FakeH2Server::~FakeH2Server() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  if (int fd = current_fd_.load(); fd >= 0) shutdown(fd, SHUT_RDWR);
  thread_.join();
  close(listen_fd_);
  SSL_CTX_free(ctx_);
}

std::vector<H2Request> FakeH2Server::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

void FakeH2Server::AcceptLoop() {
  // The server writes through OpenSSL's socket BIO (write(2)); a client that hangs up must not
  // raise SIGPIPE in the test process, whose client side is what the tests are about.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  while (!stopping_) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ++connections_;
    current_fd_ = fd;
    const int one = 1;  // as gRPC's server: no Nagle delay between a response's frames
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (stopping_) shutdown(fd, SHUT_RDWR);
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) Serve(ssl);
    SSL_free(ssl);
    current_fd_ = -1;
    close(fd);
  }
}

void FakeH2Server::Serve(SSL* ssl) {
  char buf[4096];
  switch (mode_) {
    case Mode::kHttp2:
    case Mode::kHttp2AnswerOnHeaders:
      ServeHttp2(ssl);
      return;
    case Mode::kNoAlpn:
      while (SSL_read(ssl, buf, sizeof(buf)) > 0) {
      }
      return;
    case Mode::kCloseAfterHandshake:
      SSL_shutdown(ssl);
      return;
    case Mode::kResetAfterHandshake: {
      const linger reset{1, 0};
      setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
      return;
    }
  }
}

void FakeH2Server::ServeHttp2(SSL* ssl) {
  H2Session h{this};
  h.answer_on_headers = mode_ == Mode::kHttp2AnswerOnHeaders;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, &H2Session::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &H2Session::OnData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &H2Session::OnFrame);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &H2Session::OnFrameSent);
  nghttp2_session_server_new(&h.session, cb, &h);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(h.session, NGHTTP2_FLAG_NONE, nullptr, 0);
  char buf[16384];
  for (;;) {
    const uint8_t* out = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(h.session, &out)) > 0;) {
      if (SSL_write(ssl, out, static_cast<int>(n)) <= 0) break;
    }
    if (h.close_after_send) {
      nghttp2_session_terminate_session(h.session, NGHTTP2_NO_ERROR);
      for (ssize_t n; (n = nghttp2_session_mem_send(h.session, &out)) > 0;) {
        SSL_write(ssl, out, static_cast<int>(n));
      }
      // Closed gracefully, as a real server does: a close with the client's last bytes unread
      // would send a reset, which can discard the answer before the client reads it.
      shutdown(SSL_get_fd(ssl), SHUT_WR);
      while (SSL_read(ssl, buf, sizeof(buf)) > 0) {
      }
      break;
    }
    const int n = SSL_read(ssl, buf, sizeof(buf));
    if (n <= 0 || nghttp2_session_mem_recv(h.session, reinterpret_cast<uint8_t*>(buf), n) < 0 ||
        h.hang_up) {
      break;
    }
  }
  nghttp2_session_del(h.session);
}

}  // namespace kb::testing
