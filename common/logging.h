#ifndef KB_COMMON_LOGGING_H_
#define KB_COMMON_LOGGING_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace kb {

enum class LogLevel { kInfo, kWarning, kError };

// Writes one line to stderr: "<RFC3339 time> <I|W|E> <message>". Thread-safe. Never pass key
// material, requests, evidence or config: log ids, sizes and fingerprint prefixes. Control
// characters, backslashes and bytes >= 0x80 in `message` are written as \xNN, so no input can
// start a line of its own or drive the terminal.
void LogLine(LogLevel level, absl::string_view message);

// `untrusted` (bytes from the network or a file) made safe for a log line or a stored record:
// control characters, '\\' and bytes >= 0x80 as \xNN, and at most `max_bytes` of it, with
// "...(N bytes)" when cut.
std::string EscapeUntrusted(absl::string_view untrusted, size_t max_bytes = 64);
// Suppresses info lines (tests and benchmarks).
void SetQuietLogging(bool quiet);

template <typename... Args>
void LogInfo(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  LogLine(LogLevel::kInfo, absl::StrFormat(fmt, args...));
}
template <typename... Args>
void LogWarning(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  LogLine(LogLevel::kWarning, absl::StrFormat(fmt, args...));
}
template <typename... Args>
void LogError(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  LogLine(LogLevel::kError, absl::StrFormat(fmt, args...));
}

}  // namespace kb

#endif  // KB_COMMON_LOGGING_H_
