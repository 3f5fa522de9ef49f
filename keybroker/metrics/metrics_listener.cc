#include "keybroker/metrics/metrics_listener.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"

namespace kb {
namespace {

// One HOST:PORT (the config checked its form): civetweb would read a list from a comma.
absl::Status ValidateListen(const std::string& listen) {
  if (listen.empty() || listen.find_first_of(", \t") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen '", listen, "' is not one HOST:PORT"));
  }
  return absl::OkStatus();
}

}  // namespace

MetricsListener::MetricsListener(std::unique_ptr<prometheus::Exposer> exposer, int port)
    : exposer_(std::move(exposer)), port_(port) {}

MetricsListener::~MetricsListener() = default;

absl::StatusOr<std::unique_ptr<MetricsListener>> MetricsListener::Start(
    const std::string& listen,
    const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables) {
  if (absl::Status s = ValidateListen(listen); !s.ok()) return s;
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", listen, "num_threads", "2", "request_timeout_ms", "5000"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics_listen ", listen, ": cannot listen: ", e.what()));
  }
  for (const auto& c : collectables) exposer->RegisterCollectable(c);
  const std::vector<int> ports = exposer->GetListeningPorts();
  const int port = ports.empty() ? 0 : ports.front();
  return std::unique_ptr<MetricsListener>(new MetricsListener(std::move(exposer), port));
}

}  // namespace kb
