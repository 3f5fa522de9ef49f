#ifndef KB_COMMON_GRPC_LIBRARY_LOGS_H_
#define KB_COMMON_GRPC_LIBRARY_LOGS_H_

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/time/time.h"

namespace kb {

// Sends gRPC's and protobuf's own log lines through LogLine (escaped, one format), at most one
// line per source location every `window`: a client that fails its TLS handshake or sends a
// string that is not UTF-8 cannot add a line per request. The next line from a location says
// how many were left out. Call once, first thing in main(), before any gRPC or protobuf use.
void RouteLibraryLogs(absl::Duration window = absl::Seconds(10));

// For command-line clients, which report every failed call in their own words from its status
// (a failed TLS handshake included): gRPC's own log lines are dropped, so none reaches a
// terminal or a boot console. GRPC_VERBOSITY in the environment keeps them, for debugging.
void SilenceGrpcLogs();

// The rate limit of RouteLibraryLogs, for tests: whether a line from `site` at `now` is written,
// and if so how many from that site were suppressed before it.
class LogRateLimiter {
 public:
  explicit LogRateLimiter(absl::Duration window) : window_(window) {}
  struct Verdict {
    bool write = false;
    uint64_t suppressed = 0;
  };
  Verdict Admit(const std::string& site, absl::Time now);

 private:
  struct Site {
    absl::Time last_written = absl::InfinitePast();
    uint64_t suppressed = 0;
  };
  absl::Duration window_;
  std::unordered_map<std::string, Site> sites_;
};

}  // namespace kb

#endif  // KB_COMMON_GRPC_LIBRARY_LOGS_H_
