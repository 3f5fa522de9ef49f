// BrokerMetrics' exposition and TimedStores' forwarding, without a listener.
#include "keybroker/metrics/broker_metrics.h"

#include <map>
#include <string>

#include "common/crypto.h"
#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/metrics/timed_stores.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(BrokerMetricsTest, RendersDecisionsLatencyAdminCallsAndLiveGauges) {
  double outstanding = 3;
  BrokerMetrics::KekCalls kek{.waiting = 32, .abandoned = 40, .refused = 7};
  BrokerMetrics metrics([&] { return outstanding; }, [&] { return kek; });
  metrics.Observe(ReleaseOutcome{.action = "release",
                                 .result = "denied",
                                 .evidence = "snp",
                                 .check = "cert_chain",
                                 .latency = absl::Milliseconds(2)});
  metrics.Observe(ReleaseOutcome{.action = "release",
                                 .result = "allowed",
                                 .evidence = "tpm",
                                 .check = "",
                                 .latency = absl::Milliseconds(30)});
  metrics.Observe("rotate_key", "operator", "ok");
  metrics.ObserveStore("audit_append", absl::Microseconds(700));
  std::string text = metrics.Render();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(keybroker_release_decisions_total{action="release",check="cert_chain",evidence="snp",result="denied"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(keybroker_release_duration_seconds_bucket{action="release",result="allowed",le="0.025"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(keybroker_release_duration_seconds_bucket{action="release",result="allowed",le="0.05"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(keybroker_admin_calls_total{action="rotate_key",result="ok",roles="operator"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(keybroker_store_operation_duration_seconds_bucket{operation="audit_append",le="0.001"} 1)"));
  EXPECT_THAT(text, HasSubstr("keybroker_challenges_outstanding 3"));
  EXPECT_THAT(text, HasSubstr("\nkeybroker_kek_calls_waiting 32\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE keybroker_kek_calls_abandoned_total counter"));
  EXPECT_THAT(text, HasSubstr("\nkeybroker_kek_calls_abandoned_total 40\n"));
  EXPECT_THAT(text, HasSubstr("\nkeybroker_kek_calls_refused_total 7\n"));
  EXPECT_THAT(text, HasSubstr(R"(keybroker_build_info{version=")"));
  outstanding = 0;  // read at each scrape, not at construction
  kek.waiting = 0;
  text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("keybroker_challenges_outstanding 0"));
  EXPECT_THAT(text, HasSubstr("\nkeybroker_kek_calls_waiting 0\n"));
}

class CountingObserver : public StoreLatencyObserver {
 public:
  void ObserveStore(absl::string_view operation, absl::Duration) override {
    kb::MutexLock lock(&mu_);
    ++calls_[std::string(operation)];
  }
  int calls(const std::string& operation) {
    kb::MutexLock lock(&mu_);
    return calls_[operation];
  }

 private:
  kb::Mutex mu_;
  std::map<std::string, int> calls_;
};

TEST(TimedStoresTest, TimesAndForwardsTheReleasePathStores) {
  KekSet keks;
  keks.current = *AesKek::Create(*RandomSecret(32), "test KEK");
  auto stores = OpenSqliteStores(":memory:", std::move(keks));
  ASSERT_THAT(stores, IsOk());
  CountingObserver observer;
  BrokerStores timed = TimedStores(*stores, &observer);
  EXPECT_NE(timed.challenges, stores->challenges);
  EXPECT_EQ(timed.aks, stores->aks);  // not on the release path: left as it is
  const absl::Time now = absl::FromUnixSeconds(1000);
  ASSERT_THAT(timed.challenges->Put({"c1", "disk", "nonce", now + absl::Seconds(60)}, now), IsOk());
  auto consumed = timed.challenges->Consume("c1", "disk");
  ASSERT_THAT(consumed, IsOk());
  EXPECT_EQ(consumed->nonce, "nonce");  // the wrapped store's answer, unchanged
  EXPECT_EQ(timed.challenges->Consume("c1", "disk").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(timed.keys->GetKey("absent").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(observer.calls("challenge_put"), 1);
  EXPECT_EQ(observer.calls("challenge_consume"), 2);
  EXPECT_EQ(observer.calls("key_get"), 1);
  EXPECT_EQ(observer.calls("audit_append"), 0);
}

}  // namespace
}  // namespace kb
