#include "common/grpc/library_logs.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"

namespace kb {
namespace {

std::mutex g_mu;
LogRateLimiter* g_limiter = nullptr;  // set once by RouteLibraryLogs, never freed

void Write(LogLevel level, const char* library, const char* file, int line,
           absl::string_view message) {
  LogRateLimiter::Verdict v;
  const std::string site = absl::StrCat(file == nullptr ? "?" : file, ":", line);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    v = g_limiter->Admit(site, absl::Now());
  }
  if (!v.write) return;
  LogLine(level, absl::StrCat(library, " ", site, ": ", message,
                              v.suppressed == 0
                                  ? ""
                                  : absl::StrCat(" (", v.suppressed, " more like this left out)")));
}

void FromGrpc(gpr_log_func_args* args) {
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) return;
  Write(args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kError : LogLevel::kInfo, "grpc",
        args->file, args->line, args->message == nullptr ? "" : args->message);
}

void FromProtobuf(google::protobuf::LogLevel level, const char* filename, int line,
                  const std::string& message) {
  Write(level >= google::protobuf::LOGLEVEL_ERROR ? LogLevel::kError : LogLevel::kWarning,
        "protobuf", filename, line, message);
}

}  // namespace

LogRateLimiter::Verdict LogRateLimiter::Admit(const std::string& site, absl::Time now) {
  Site& s = sites_[site];
  Verdict v;
  if (now - s.last_written < window_) {
    ++s.suppressed;
    return v;
  }
  v.write = true;
  v.suppressed = s.suppressed;
  s.suppressed = 0;
  s.last_written = now;
  return v;
}

void RouteLibraryLogs(absl::Duration window) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_limiter == nullptr) g_limiter = new LogRateLimiter(window);
  }
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  gpr_set_log_function(&FromGrpc);
  google::protobuf::SetLogHandler(&FromProtobuf);
}

void SilenceGrpcLogs() {
  if (std::getenv("GRPC_VERBOSITY") != nullptr) return;
  gpr_set_log_function([](gpr_log_func_args*) {});
}

}  // namespace kb
