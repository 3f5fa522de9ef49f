#ifndef KB_UNLOCKER_UNARY_GRPC_BYTE_STREAM_H_
#define KB_UNLOCKER_UNARY_GRPC_BYTE_STREAM_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb::unary_grpc {

// A connected, ordered, reliable byte stream to a server with a deadline on each operation:
// what HTTP/2 runs on. TlsConnection in kbunlock; scripted bytes in the fuzz target.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Sends all of `data` by `deadline`.
  virtual absl::Status Write(absl::string_view data, absl::Time deadline) = 0;
  // Up to `size` bytes of the server's data into `out`, waiting until `deadline` for some:
  // DEADLINE_EXCEEDED when none came, UNAVAILABLE once the server closed the stream.
  virtual absl::StatusOr<size_t> Read(char* out, size_t size, absl::Time deadline) = 0;
  // Whether the server closed the stream or sent something not yet read, without waiting.
  virtual bool HasInputOrClosed() = 0;
};

}  // namespace kb::unary_grpc

#endif  // KB_UNLOCKER_UNARY_GRPC_BYTE_STREAM_H_
