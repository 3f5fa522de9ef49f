#include "unlocker/unary_grpc/http2_connection.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kb::unary_grpc {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

nghttp2_nv Header(absl::string_view name, absl::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

absl::Status Http2Error(absl::string_view what, int code) {
  return absl::UnavailableError(absl::StrCat("HTTP/2 ", what, ": ", nghttp2_strerror(code)));
}

// With nghttp2_session_mem_send/mem_recv the session never sends through this callback.
ssize_t NeverSend(nghttp2_session*, const uint8_t*, size_t, int, void*) {
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Http2Connection>> Http2Connection::Start(
    std::unique_ptr<ByteStream> stream, std::string authority) {
  std::unique_ptr<Http2Connection> c(new Http2Connection(std::move(stream), std::move(authority)));
  if (absl::Status s = c->Init(); !s.ok()) return s;
  return c;
}

Http2Connection::Http2Connection(std::unique_ptr<ByteStream> stream, std::string authority)
    : stream_io_(std::move(stream)), authority_(std::move(authority)) {}

Http2Connection::~Http2Connection() { nghttp2_session_del(session_); }

absl::Status Http2Connection::Init() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return absl::ResourceExhaustedError("nghttp2");
  nghttp2_session_callbacks_set_send_callback(cb, &NeverSend);
  nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnData);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnClose);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrame);
  const int rv = nghttp2_session_client_new(&session_, cb, this);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return Http2Error("session", rv);
  const std::array<nghttp2_settings_entry, 2> settings = {{
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxResponseHeaderBytes},
  }};
  if (int e =
          nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
      e != 0) {
    return Http2Error("settings", e);
  }
  return absl::OkStatus();
}

bool Http2Connection::ReadyForCall(absl::Time deadline) {
  // Reads what the server sent since the last call (a GOAWAY, a close), without waiting, and no
  // longer than until `deadline` however much it sends.
  while (!failed_ && absl::Now() < deadline && stream_io_->HasInputOrClosed()) {
    char buf[kReadChunk];
    absl::StatusOr<size_t> n = stream_io_->Read(buf, sizeof(buf), absl::Now());
    if (!n.ok() && absl::IsDeadlineExceeded(n.status())) break;  // a record not yet whole
    if (!n.ok() || !Process(absl::string_view(buf, *n)).ok()) failed_ = true;
  }
  return !failed_ && nghttp2_session_check_request_allowed(session_) != 0 &&
         nghttp2_session_want_read(session_) != 0;
}

absl::StatusOr<std::string> Http2Connection::Call(absl::string_view path, absl::string_view request,
                                                  absl::Time deadline) {
  stream_ = Stream();
  stream_.request = FrameMessage(request);
  last_unprocessed_ = false;
  const std::string timeout = GrpcTimeout(deadline - absl::Now());
  const std::array<nghttp2_nv, 8> headers = {
      Header(":method", "POST"),
      Header(":scheme", "https"),
      Header(":path", path),
      Header(":authority", authority_),
      Header("te", "trailers"),
      Header("grpc-timeout", timeout),
      Header("content-type", "application/grpc"),
      Header("user-agent", "kbunlock"),
  };
  nghttp2_data_provider body;
  body.source.ptr = nullptr;
  body.read_callback = &ReadRequest;
  stream_.id =
      nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(), &body, this);
  if (stream_.id < 0) {
    last_unprocessed_ = true;
    return Http2Error("request", stream_.id);
  }
  while (!stream_.closed) {
    if (absl::Status s = Exchange(deadline); !s.ok()) {
      failed_ = true;
      return s;
    }
  }
  return Outcome();
}

absl::Status Http2Connection::Exchange(absl::Time deadline) {
  if (absl::Status s = SendQueued(deadline); !s.ok()) return s;
  if (stream_.closed) return absl::OkStatus();
  // A server that keeps the socket busy with frames that never end the stream (PINGs, ...).
  if (absl::Now() >= deadline) return absl::DeadlineExceededError("deadline passed");
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    return absl::UnavailableError("the HTTP/2 connection ended before the call did");
  }
  char buf[kReadChunk];
  absl::StatusOr<size_t> n = stream_io_->Read(buf, sizeof(buf), deadline);
  if (!n.ok()) return n.status();
  return Process(absl::string_view(buf, *n));
}

absl::Status Http2Connection::SendQueued(absl::Time deadline) {
  // Everything nghttp2 has queued (the preface, SETTINGS, a request's HEADERS and DATA, ACKs)
  // goes out as one TLS write: one record and one packet where it fits, not one per frame.
  std::string out;
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return Http2Error("send", static_cast<int>(n));
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), n);
  }
  return out.empty() ? absl::OkStatus() : stream_io_->Write(out, deadline);
}

absl::Status Http2Connection::Process(absl::string_view bytes) {
  const ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) return Http2Error("receive", static_cast<int>(rv));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Http2Connection::Outcome() {
  Stream& s = stream_;
  if (!s.local_error.ok()) return s.local_error;
  // RST_STREAM(NO_ERROR) after a block that ended the stream with a status is a server that
  // answered before the request ended and stops it (RFC 9113, 8.1): the status stands.
  const bool answered = s.grpc_status.has_value() && s.reset_code == NGHTTP2_NO_ERROR;
  if (s.reset && !answered) {  // RST_STREAM before the status (NO_ERROR included: INTERNAL)
    last_unprocessed_ = s.reset_code == NGHTTP2_REFUSED_STREAM && s.http_status == 0;
    return StatusFromReset(s.reset_code);
  }
  if (!s.grpc_status.has_value() || !s.grpc_content) return StatusFromHttpStatus(s.http_status);
  if (absl::Status st = StatusFromTrailers(*s.grpc_status, s.grpc_message); !st.ok()) return st;
  absl::StatusOr<std::optional<std::string>> message = s.deframer.Finish();
  if (!message.ok()) return message.status();
  if (!message->has_value()) {
    return absl::UnimplementedError("No message returned for unary request");
  }
  return std::move(**message);
}

int Http2Connection::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                              size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                              void* self) {
  Stream& s = static_cast<Http2Connection*>(self)->stream_;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != s.id) return 0;
  s.header_bytes += namelen + valuelen + 32;
  if (s.header_bytes > kMaxResponseHeaderBytes) {
    s.local_error = absl::ResourceExhaustedError(absl::StrCat(
        "the broker's response headers are over the limit of ", kMaxResponseHeaderBytes, " bytes"));
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
  }
  const absl::string_view n(reinterpret_cast<const char*>(name), namelen);
  const absl::string_view v(reinterpret_cast<const char*>(value), valuelen);
  // The status counts only from the block that ends the stream: the trailers, or a
  // Trailers-Only response. Not from a 1xx, nor from the headers before the message.
  const bool ends_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (n == ":status") {
    (void)absl::SimpleAtoi(v, &s.http_status);
  } else if (n == "content-type" && s.http_status >= 200) {
    s.grpc_content = absl::StartsWith(v, "application/grpc");
  } else if (n == "grpc-status" && ends_stream) {
    s.grpc_status = std::string(v);
  } else if (n == "grpc-message" && ends_stream) {
    s.grpc_message = std::string(v);
  }
  return 0;
}

int Http2Connection::OnData(nghttp2_session* session, uint8_t, int32_t stream_id,
                            const uint8_t* data, size_t len, void* self) {
  Stream& s = static_cast<Http2Connection*>(self)->stream_;
  if (stream_id != s.id || !s.local_error.ok()) return 0;
  // Only a gRPC answer's body holds a message. A proxy's error page (502 with HTML) is not
  // one: the HTTP status says what happened (Outcome), not the page's first byte.
  if (s.http_status != 200 || !s.grpc_content) return 0;
  absl::Status appended =
      s.deframer.Append(absl::string_view(reinterpret_cast<const char*>(data), len));
  if (!appended.ok()) {
    s.local_error = appended;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
  }
  return 0;
}

int Http2Connection::OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  Stream& s = static_cast<Http2Connection*>(self)->stream_;
  if (frame->hd.type == NGHTTP2_RST_STREAM && frame->hd.stream_id == s.id) s.reset = true;
  return 0;
}

int Http2Connection::OnClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self) {
  Stream& s = static_cast<Http2Connection*>(self)->stream_;
  if (stream_id != s.id) return 0;
  s.closed = true;
  s.reset_code = error_code;
  // Closed by nghttp2 itself: refused after a GOAWAY, or reset for a malformed response.
  if (error_code != NGHTTP2_NO_ERROR) s.reset = true;
  return 0;
}

ssize_t Http2Connection::ReadRequest(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                     uint32_t* data_flags, nghttp2_data_source*, void* self) {
  Stream& s = static_cast<Http2Connection*>(self)->stream_;
  const size_t n = std::min(length, s.request.size() - s.sent);
  memcpy(buf, s.request.data() + s.sent, n);
  s.sent += n;
  if (s.sent == s.request.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace kb::unary_grpc
