#include "keybroker/metrics/broker_metrics.h"

#include <string>
#include <utility>

#include "common/version.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace kb {
namespace {

using prometheus::Histogram;

// A guest's release takes milliseconds to seconds (the database's commit dominates).
const Histogram::BucketBoundaries& ReleaseBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *b;
}

const Histogram::BucketBoundaries& StoreBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5};
  return *b;
}

// Gauges and counters whose value is read when scraped.
class ScrapedMetrics : public prometheus::Collectable {
 public:
  ScrapedMetrics(std::function<double()> outstanding,
                 std::function<BrokerMetrics::KekCalls()> kek_calls)
      : outstanding_(std::move(outstanding)), kek_calls_(std::move(kek_calls)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const BrokerMetrics::KekCalls kek = kek_calls_();
    return {Gauge("keybroker_challenges_outstanding",
                  "Challenges issued by this keybrokerd and not yet redeemed or expired.", {},
                  outstanding_()),
            Gauge("keybroker_kek_calls_waiting",
                  "Calls to the KEK in an HSM queued or not yet answered, whether or not their "
                  "request still waits; a count that stays up: the HSM is not answering.",
                  {}, kek.waiting),
            Counter("keybroker_kek_calls_abandoned_total",
                    "Calls to the KEK in an HSM that their request left at its deadline.",
                    kek.abandoned),
            Counter("keybroker_kek_calls_refused_total",
                    "Calls to the KEK in an HSM refused at once: too many were waiting, or no "
                    "thread could be started.",
                    kek.refused),
            Gauge("keybroker_build_info", "The keybrokerd release serving (value 1).",
                  {{"version", kVersion}}, 1)};
  }

 private:
  static prometheus::MetricFamily Gauge(std::string name, std::string help,
                                        std::vector<prometheus::ClientMetric::Label> labels,
                                        double value) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    metric.gauge.value = value;
    return {std::move(name), std::move(help), prometheus::MetricType::Gauge, {metric}};
  }
  static prometheus::MetricFamily Counter(std::string name, std::string help, double value) {
    prometheus::ClientMetric metric;
    metric.counter.value = value;
    return {std::move(name), std::move(help), prometheus::MetricType::Counter, {metric}};
  }

  std::function<double()> outstanding_;
  std::function<BrokerMetrics::KekCalls()> kek_calls_;
};

}  // namespace

BrokerMetrics::BrokerMetrics(std::function<double()> outstanding_challenges,
                             std::function<KekCalls()> kek_calls)
    : registry_(std::make_shared<prometheus::Registry>()),
      live_(std::make_shared<ScrapedMetrics>(std::move(outstanding_challenges),
                                             std::move(kek_calls))),
      decisions_(prometheus::BuildCounter()
                     .Name("keybroker_release_decisions_total")
                     .Help("Release and enrolment-confirmation decisions, by result, the "
                           "evidence kind and the check or step that refused.")
                     .Register(*registry_)),
      release_latency_(prometheus::BuildHistogram()
                           .Name("keybroker_release_duration_seconds")
                           .Help("Time from a release request to its audited decision.")
                           .Register(*registry_)),
      store_latency_(prometheus::BuildHistogram()
                         .Name("keybroker_store_operation_duration_seconds")
                         .Help("Time of each call into the broker's store, by operation.")
                         .Register(*registry_)),
      admin_calls_(prometheus::BuildCounter()
                       .Name("keybroker_admin_calls_total")
                       .Help("Admin API calls by action, the caller's roles and the result.")
                       .Register(*registry_)) {}

void BrokerMetrics::Observe(const ReleaseOutcome& o) {
  decisions_
      .Add({{"action", std::string(o.action)},
            {"result", std::string(o.result)},
            {"evidence", std::string(o.evidence)},
            {"check", std::string(o.check)}})
      .Increment();
  release_latency_
      .Add({{"action", std::string(o.action)}, {"result", std::string(o.result)}}, ReleaseBuckets())
      .Observe(absl::ToDoubleSeconds(o.latency));
}

void BrokerMetrics::Observe(absl::string_view action, absl::string_view roles,
                            absl::string_view result) {
  admin_calls_
      .Add({{"action", std::string(action)},
            {"roles", std::string(roles)},
            {"result", std::string(result)}})
      .Increment();
}

void BrokerMetrics::ObserveStore(absl::string_view operation, absl::Duration latency) {
  store_latency_.Add({{"operation", std::string(operation)}}, StoreBuckets())
      .Observe(absl::ToDoubleSeconds(latency));
}

std::vector<std::weak_ptr<prometheus::Collectable>> BrokerMetrics::collectables() const {
  return {registry_, live_};
}

std::string BrokerMetrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& f : live_->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace kb
