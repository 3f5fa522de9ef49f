#ifndef KB_KEYBROKER_METRICS_METRICS_LISTENER_H_
#define KB_KEYBROKER_METRICS_METRICS_LISTENER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"

namespace prometheus {
class Exposer;
}

namespace kb {

// The optional plain-HTTP listener that serves GET /metrics (prometheus-cpp's Exposer, not an
// HTTP server of ours): two threads, a request that has not arrived whole after 5 s dropped.
class MetricsListener {
 public:
  // Listens on `listen` (one "HOST:PORT", as the config checked it; port 0: the kernel
  // chooses) and serves `collectables`, which must outlive the listener. UNAVAILABLE naming the
  // address when it cannot listen.
  static absl::StatusOr<std::unique_ptr<MetricsListener>> Start(
      const std::string& listen,
      const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables);
  ~MetricsListener();

  int port() const { return port_; }

 private:
  MetricsListener(std::unique_ptr<prometheus::Exposer> exposer, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_METRICS_METRICS_LISTENER_H_
