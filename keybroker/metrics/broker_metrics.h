#ifndef KB_KEYBROKER_METRICS_BROKER_METRICS_H_
#define KB_KEYBROKER_METRICS_BROKER_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keybroker/admin/admin_runner.h"
#include "keybroker/metrics/timed_stores.h"
#include "keybroker/service/release_observer.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace kb {

// keybrokerd's Prometheus metrics (names and labels in docs/operations.md, "Metrics"):
//   keybroker_release_decisions_total{action,result,evidence,check}
//   keybroker_release_duration_seconds{action,result}   (histogram)
//   keybroker_store_operation_duration_seconds{operation}  (histogram)
//   keybroker_admin_calls_total{action,roles,result}
//   keybroker_challenges_outstanding   (read at each scrape)
//   keybroker_kek_calls_waiting, keybroker_kek_calls_abandoned_total,
//   keybroker_kek_calls_refused_total   (read at each scrape)
//   keybroker_build_info{version} 1
// Every label value is a name the broker chose, never request text, so the number of series
// is bounded. Thread-safe.
class BrokerMetrics : public ReleaseObserver, public AdminObserver, public StoreLatencyObserver {
 public:
  // The calls to an HSM's KEK (keybroker/kek/deadline_bound_kek.h, KekCallTally).
  struct KekCalls {
    double waiting = 0;    // queued or in the KEK now
    double abandoned = 0;  // so far: their request left at its deadline before the answer
    double refused = 0;    // so far: refused at once, too many waiting or no thread
  };
  // `outstanding_challenges` and `kek_calls` are called at each scrape.
  BrokerMetrics(std::function<double()> outstanding_challenges,
                std::function<KekCalls()> kek_calls);

  void Observe(const ReleaseOutcome& outcome) override;
  void Observe(absl::string_view action, absl::string_view roles,
               absl::string_view result) override;
  void ObserveStore(absl::string_view operation, absl::Duration latency) override;

  // What a metrics listener serves.
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables() const;
  // The text exposition format of everything, as /metrics serves it (for tests).
  std::string Render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> live_;  // gauges read at scrape time
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Histogram>& release_latency_;
  prometheus::Family<prometheus::Histogram>& store_latency_;
  prometheus::Family<prometheus::Counter>& admin_calls_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_METRICS_BROKER_METRICS_H_
