#ifndef KB_COMMON_LOGGING_H_
#define KB_COMMON_LOGGING_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace kb {

enum class LogLevel { kInfo, kWarning, kError };

// Writes one line to stderr: "<RFC3339 time> <I|W|E> <message>". Thread-safe. Never pass key
// material, requests, evidence or config: log ids, sizes and fingerprint prefixes.
void LogLine(LogLevel level, absl::string_view message);
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
