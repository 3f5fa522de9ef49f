#ifndef KB_UNLOCKER_UNARY_GRPC_HTTP2_CONNECTION_H_
#define KB_UNLOCKER_UNARY_GRPC_HTTP2_CONNECTION_H_

// Unary gRPC calls, one at a time, over one HTTP/2 connection (nghttp2) on a ByteStream.

#include <nghttp2/nghttp2.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "unlocker/unary_grpc/byte_stream.h"
#include "unlocker/unary_grpc/grpc_wire.h"

namespace kb::unary_grpc {

// The most header and trailer bytes a response may carry (names and values, plus HPACK's 32
// per field): the 8 KiB each that gRPC suggests a client may limit them to.
inline constexpr size_t kMaxResponseHeaderBytes = 16 * 1024;

class Http2Connection {
 public:
  // Starts HTTP/2 on `stream`, whose peer is `authority` ("host:port", as dialled).
  static absl::StatusOr<std::unique_ptr<Http2Connection>> Start(std::unique_ptr<ByteStream> stream,
                                                                std::string authority);
  ~Http2Connection();
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  // Whether another call may start here: the connection has not failed, and the server has not
  // closed it or sent GOAWAY (what the server sent meanwhile is read first, without waiting and
  // not past `deadline`).
  bool ReadyForCall(absl::Time deadline);

  // Calls `path` ("/package.Service/Method") with the serialized `request`; the serialized
  // response, or the call's status (grpc_wire.h). DEADLINE_EXCEEDED when `deadline` passes (the
  // connection is then dropped, which cancels the call at the server).
  absl::StatusOr<std::string> Call(absl::string_view path, absl::string_view request,
                                   absl::Time deadline);
  // Whether the last call failed without the server having processed it (its stream was
  // refused, or GOAWAY came before it): it may be retried on another connection.
  bool LastCallUnprocessed() const { return last_unprocessed_; }
  // Whether the connection is unusable (a transport or protocol failure, a deadline mid-call).
  bool failed() const { return failed_; }

 private:
  // What one call has received so far.
  struct Stream {
    int32_t id = -1;
    std::string request;  // framed
    size_t sent = 0;
    int http_status = 0;
    bool grpc_content = false;  // the final response's content-type is application/grpc...
    std::optional<std::string> grpc_status;
    std::string grpc_message;
    size_t header_bytes = 0;
    UnaryResponseDeframer deframer;
    absl::Status local_error;  // a response this client refused while it came
    bool closed = false;
    bool reset = false;  // by the server's RST_STREAM or by nghttp2
    uint32_t reset_code = 0;
  };

  Http2Connection(std::unique_ptr<ByteStream> stream, std::string authority);
  absl::Status Init();
  // Sends what nghttp2 has queued, then waits for and processes the server's next bytes.
  absl::Status Exchange(absl::Time deadline);
  absl::Status SendQueued(absl::Time deadline);
  absl::Status Process(absl::string_view bytes);
  absl::StatusOr<std::string> Outcome();

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* self);
  static int OnData(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                    size_t len, void* self);
  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static ssize_t ReadRequest(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                             uint32_t* data_flags, nghttp2_data_source*, void* self);

  std::unique_ptr<ByteStream> stream_io_;
  std::string authority_;
  nghttp2_session* session_ = nullptr;
  Stream stream_;
  bool failed_ = false;
  bool last_unprocessed_ = false;
};

}  // namespace kb::unary_grpc

#endif  // KB_UNLOCKER_UNARY_GRPC_HTTP2_CONNECTION_H_
