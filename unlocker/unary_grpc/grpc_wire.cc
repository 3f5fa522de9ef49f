#include "unlocker/unary_grpc/grpc_wire.h"

#include <algorithm>
#include <array>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace kb::unary_grpc {
namespace {

constexpr size_t kPrefixSize = 5;  // compressed flag + 4-byte length
constexpr int64_t kMaxTimeoutDigits = 99'999'999;

uint32_t Be32At(absl::string_view bytes) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

absl::Status SecondMessage() {
  return absl::InternalError("the broker sent more than one message in a unary response");
}

// HTTP/2's error codes (RFC 9113 section 7), for messages.
absl::string_view Http2ErrorName(uint32_t code) {
  static constexpr std::array<absl::string_view, 14> kNames = {"NO_ERROR",
                                                               "PROTOCOL_ERROR",
                                                               "INTERNAL_ERROR",
                                                               "FLOW_CONTROL_ERROR",
                                                               "SETTINGS_TIMEOUT",
                                                               "STREAM_CLOSED",
                                                               "FRAME_SIZE_ERROR",
                                                               "REFUSED_STREAM",
                                                               "CANCEL",
                                                               "COMPRESSION_ERROR",
                                                               "CONNECT_ERROR",
                                                               "ENHANCE_YOUR_CALM",
                                                               "INADEQUATE_SECURITY",
                                                               "HTTP_1_1_REQUIRED"};
  return code < kNames.size() ? kNames[code] : "unknown error code";
}

}  // namespace

std::string FrameMessage(absl::string_view message) {
  const uint32_t n = static_cast<uint32_t>(message.size());
  std::string out = {'\0', static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(message.data(), message.size());
  return out;
}

absl::Status UnaryResponseDeframer::Append(absl::string_view data) {
  if (!error_.ok() || data.empty()) return error_;
  if (message_.has_value()) {
    error_ = SecondMessage();
    return error_;
  }
  pending_.append(data.data(), data.size());
  if (pending_.size() < kPrefixSize) return absl::OkStatus();
  if (pending_[0] != '\0') {
    error_ = absl::InternalError(absl::StrCat("the broker sent a compressed message (flag ",
                                              static_cast<uint8_t>(pending_[0]),
                                              "), which this client never asks for"));
    return error_;
  }
  const uint32_t length = Be32At(absl::string_view(pending_).substr(1));
  if (length > kMaxResponseMessage) {
    error_ = absl::ResourceExhaustedError(absl::StrCat("the broker's response message of ", length,
                                                       " bytes is over the limit of ",
                                                       kMaxResponseMessage, " bytes"));
    return error_;
  }
  if (pending_.size() < kPrefixSize + length) return absl::OkStatus();
  if (pending_.size() > kPrefixSize + length) {
    error_ = SecondMessage();
    return error_;
  }
  message_ = pending_.substr(kPrefixSize);
  pending_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> UnaryResponseDeframer::Finish() const {
  if (!error_.ok()) return error_;
  if (pending_.size() >= kPrefixSize) {
    return absl::InternalError(
        absl::StrCat("the broker's response message was cut short: ", pending_.size() - kPrefixSize,
                     " of its ", Be32At(absl::string_view(pending_).substr(1)), " bytes"));
  }
  if (!pending_.empty()) {
    return absl::InternalError(
        absl::StrCat("the broker's response was cut short in a message's 5-byte prefix (",
                     pending_.size(), " bytes)"));
  }
  return message_;
}

std::string GrpcTimeout(absl::Duration remaining) {
  const int64_t ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(remaining, absl::Milliseconds(1))));
  if (ms <= kMaxTimeoutDigits) return absl::StrCat(ms, "m");
  const int64_t s = ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
  if (s <= kMaxTimeoutDigits) return absl::StrCat(s, "S");
  const int64_t h = s / 3600 + (s % 3600 != 0 ? 1 : 0);
  return absl::StrCat(std::min(h, kMaxTimeoutDigits), "H");
}

std::string PercentDecode(absl::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size() && absl::ascii_isxdigit(encoded[i + 1]) &&
        absl::ascii_isxdigit(encoded[i + 2])) {
      out.append(absl::HexStringToBytes(encoded.substr(i + 1, 2)));
      i += 2;
      continue;
    }
    out.push_back(encoded[i]);
  }
  return out;
}

absl::Status StatusFromHttpStatus(int http_status) {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  switch (http_status) {
    case 400:
    case 431:
      code = absl::StatusCode::kInternal;
      break;
    case 401:
      code = absl::StatusCode::kUnauthenticated;
      break;
    case 403:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case 404:
      code = absl::StatusCode::kUnimplemented;
      break;
    case 429:
    case 502:
    case 503:
    case 504:
      code = absl::StatusCode::kUnavailable;
      break;
  }
  return absl::Status(code, absl::StrCat("HTTP status ", http_status,
                                         " without a gRPC status: not a gRPC server's answer"));
}

absl::Status StatusFromTrailers(absl::string_view grpc_status, absl::string_view grpc_message) {
  int code = -1;
  const bool canonical = !grpc_status.empty() && grpc_status.size() <= 2 &&
                         absl::c_all_of(grpc_status, absl::ascii_isdigit) &&
                         (grpc_status.size() == 1 || grpc_status[0] != '0') &&
                         absl::SimpleAtoi(grpc_status, &code) && code <= 16;
  if (!canonical) {
    return absl::UnknownError(absl::StrCat("the broker sent grpc-status '",
                                           EscapeUntrusted(grpc_status), "', not a gRPC code"));
  }
  if (code == 0) return absl::OkStatus();
  // The server's words reach a console and logs: escaped, and bounded.
  return absl::Status(static_cast<absl::StatusCode>(code),
                      EscapeUntrusted(PercentDecode(grpc_message), kMaxStatusMessage));
}

absl::Status StatusFromReset(uint32_t error_code) {
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (error_code == 0x7) code = absl::StatusCode::kUnavailable;
  if (error_code == 0x8) code = absl::StatusCode::kCancelled;
  if (error_code == 0xb) code = absl::StatusCode::kResourceExhausted;
  if (error_code == 0xc) code = absl::StatusCode::kPermissionDenied;
  return absl::Status(code, absl::StrCat("the broker reset the stream (HTTP/2 ",
                                         Http2ErrorName(error_code), ", ", error_code, ")"));
}

}  // namespace kb::unary_grpc
