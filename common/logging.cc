#include "common/logging.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kb {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_mu;
}  // namespace

void SetQuietLogging(bool quiet) { g_quiet = quiet; }

namespace {

bool NeedsEscape(unsigned char c) { return c < 0x20 || c >= 0x7f || c == '\\'; }

void AppendEscaped(std::string& out, absl::string_view in) {
  constexpr char kHex[] = "0123456789abcdef";
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (!NeedsEscape(c)) {
      out.push_back(ch);
      continue;
    }
    out.append("\\x");
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
}

}  // namespace

std::string EscapeUntrusted(absl::string_view untrusted, size_t max_bytes) {
  std::string out;
  AppendEscaped(out, untrusted.substr(0, max_bytes));
  if (untrusted.size() > max_bytes) absl::StrAppend(&out, "...(", untrusted.size(), " bytes)");
  return out;
}

void LogLine(LogLevel level, absl::string_view message) {
  if (level == LogLevel::kInfo && g_quiet) return;
  const char tag = level == LogLevel::kInfo ? 'I' : level == LogLevel::kWarning ? 'W' : 'E';
  std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(), absl::UTCTimeZone());
  line.push_back(tag);
  line.push_back(' ');
  AppendEscaped(line, message);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace kb
