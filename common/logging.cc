#include "common/logging.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kb {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_mu;
}  // namespace

void SetQuietLogging(bool quiet) { g_quiet = quiet; }

void LogLine(LogLevel level, absl::string_view message) {
  if (level == LogLevel::kInfo && g_quiet) return;
  const char tag = level == LogLevel::kInfo ? 'I' : level == LogLevel::kWarning ? 'W' : 'E';
  std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "%s %c %.*s\n", time.c_str(), tag, static_cast<int>(message.size()),
               message.data());
}

}  // namespace kb
