#ifndef KB_UNLOCKER_UNARY_GRPC_GRPC_WIRE_H_
#define KB_UNLOCKER_UNARY_GRPC_GRPC_WIRE_H_

// gRPC's wire format for one unary call over HTTP/2, as grpc/doc/PROTOCOL-HTTP2.md and
// doc/http-grpc-status-mapping.md define it, without any HTTP/2 library: the message framing,
// the grpc-timeout header, and the status a call ends with; each testable on bytes alone.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb::unary_grpc {

// The largest response message accepted: gRPC's default receive limit.
inline constexpr size_t kMaxResponseMessage = 4 << 20;

// `message` as a Length-Prefixed-Message: a compressed flag of 0 (this client never
// compresses), its length as 4 bytes big-endian, the bytes.
std::string FrameMessage(absl::string_view message);

// Reassembles the one message of a unary response from the stream's DATA, whose frame
// boundaries have nothing to do with the message's. Holds no more than kMaxResponseMessage
// and one chunk of DATA.
class UnaryResponseDeframer {
 public:
  // The next bytes of DATA. INTERNAL for a compressed message (none was asked for) or a second
  // message; RESOURCE_EXHAUSTED for a length over kMaxResponseMessage. After an error the
  // deframer stays failed.
  absl::Status Append(absl::string_view data);
  // At the end of the stream: the message, nullopt if none came, INTERNAL if one was cut short.
  absl::StatusOr<std::optional<std::string>> Finish() const;

 private:
  std::string pending_;  // bytes of a message not yet complete (its prefix included)
  std::optional<std::string> message_;
  absl::Status error_;
};

// The grpc-timeout header for `remaining`, rounded up: "<n>m", or in seconds ("S") or hours
// ("H") once milliseconds need more than the 8 digits allowed. At least "1m".
std::string GrpcTimeout(absl::Duration remaining);

// grpc-message's percent-encoding undone. A '%' not followed by two hex digits is kept as it
// is: a badly encoded message must not fail the call.
std::string PercentDecode(absl::string_view encoded);

// The status a response without grpc-status ends with, from its HTTP status (a proxy or a
// server that does not speak gRPC): 400 and 431 INTERNAL, 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429, 502, 503 and 504 UNAVAILABLE, anything else UNKNOWN.
absl::Status StatusFromHttpStatus(int http_status);

// The most bytes of a grpc-message kept in a status.
inline constexpr size_t kMaxStatusMessage = 1024;

// The status named by the grpc-status and grpc-message trailers, the message percent-decoded,
// then escaped (control characters and bytes >= 0x80 as \xNN) and cut to kMaxStatusMessage.
// A grpc-status that is not a code's decimal number (0-16, no sign, no leading zero) is
// UNKNOWN, naming what came.
absl::Status StatusFromTrailers(absl::string_view grpc_status, absl::string_view grpc_message);

// The status of a stream the server reset with HTTP/2 error `error_code` (RFC 9113 section 7):
// REFUSED_STREAM UNAVAILABLE (not processed: safe to retry), CANCEL CANCELLED,
// ENHANCE_YOUR_CALM RESOURCE_EXHAUSTED, INADEQUATE_SECURITY PERMISSION_DENIED, any other
// INTERNAL.
absl::Status StatusFromReset(uint32_t error_code);

}  // namespace kb::unary_grpc

#endif  // KB_UNLOCKER_UNARY_GRPC_GRPC_WIRE_H_
