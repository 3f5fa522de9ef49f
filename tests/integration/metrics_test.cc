// keybrokerd's Prometheus listener (metrics_listen), scraped over real HTTP while a guest with a
// software TPM releases through the real broker over TLS: decisions by result, evidence kind
// and refusing check, the latency histograms, store timings, admin calls by role, challenges
// outstanding and build info.
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/broker_guest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/integration/release_over_grpc.h"
#include "tests/support/broker_process.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerProcess::Options options;
    options.extra_config = R"("metrics_listen":"127.0.0.1:0")";
    auto broker = BrokerProcess::Start(options);
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
    port_ = MetricsPort(*broker_);
    ASSERT_GT(port_, 0) << *ReadFile(broker_->Path("keybrokerd.log"));
  }
  std::string Scrape() { return HttpGet(port_, "/metrics"); }

  std::unique_ptr<BrokerProcess> broker_;
  int port_ = 0;
};

TEST_F(MetricsTest, CountsReleasesByResultEvidenceAndCheckWhileServing) {
  auto tpm = Guest(*broker_, "vm-m", "disk-m");
  // Scrapes while releases run: the listener answers during the load.
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!done) {
      if (absl::StrContains(Scrape(), "keybroker_build_info")) ++scrapes;
    }
  });
  for (int i = 0; i < 3; ++i) EXPECT_THAT(ReleaseOverGrpc(*broker_, *tpm, "disk-m"), IsOk());
  done = true;
  scraper.join();
  EXPECT_GT(scrapes, 0);

  // Refused by the policy: the PCR no longer matches.
  tpm->SetPcr(7, std::string(32, '\x08'));
  EXPECT_THAT(ReleaseOverGrpc(*broker_, *tpm, "disk-m"), Not(IsOk()));
  // Refused before any evidence: no such challenge.
  auto stub = broker_->ReleaseStub();
  v1::ReleaseKeyRequest bogus;
  bogus.set_key_id("disk-m");
  bogus.set_challenge_id("00");
  bogus.mutable_evidence()->mutable_tpm_quote();
  bogus.mutable_transfer_key()->set_spki_der("x");
  v1::ReleaseKeyResponse ignored;
  grpc::ClientContext ctx;
  EXPECT_FALSE(stub->ReleaseKey(&ctx, bogus, &ignored).ok());

  const std::string m = Scrape();
  EXPECT_THAT(m, HasSubstr("HTTP/1.1 200 OK"));
  if (getenv("KB_PRINT_METRICS")) std::fputs(m.c_str(), stderr);
  EXPECT_THAT(
      m,
      HasSubstr(
          R"(keybroker_release_decisions_total{action="release",check="",evidence="tpm",result="allowed"} 3)"));
  EXPECT_THAT(
      m,
      HasSubstr(
          R"(keybroker_release_decisions_total{action="release",check="policy",evidence="tpm",result="denied"} 1)"));
  EXPECT_THAT(
      m,
      HasSubstr(
          R"(keybroker_release_decisions_total{action="release",check="challenge",evidence="tpm",result="denied"} 1)"));
  EXPECT_THAT(
      m, HasSubstr(
             R"(keybroker_release_duration_seconds_count{action="release",result="allowed"} 3)"));
  EXPECT_THAT(
      m,
      HasSubstr(R"(keybroker_store_operation_duration_seconds_count{operation="audit_append"})"));
  // One store read per release with a challenge (the spend and the records in one call); "00"
  // is not one (not a nonce in hex) and is refused without asking the store.
  EXPECT_THAT(
      m, HasSubstr(
             R"(keybroker_store_operation_duration_seconds_count{operation="release_reads"} 4)"));
  EXPECT_THAT(m, Not(HasSubstr(R"(operation="challenge_consume")")));
  EXPECT_THAT(m, HasSubstr(R"(keybroker_build_info{version=")"));
  // Nothing from the request reaches a label: no key id, no machine name.
  EXPECT_THAT(m, Not(HasSubstr("disk-m")));
  EXPECT_THAT(m, Not(HasSubstr("vm-m")));
}

TEST_F(MetricsTest, CountsAdminCallsByRoleAndChallengesOutstanding) {
  EXPECT_EQ(Ctl(*broker_, {"key", "create", "disk-a"}).exit_code, 0);
  std::vector<std::string> norole = KeybrokerctlArgv(*broker_, "norole");
  norole.insert(norole.end(), {"key", "create", "disk-b"});
  EXPECT_NE(RunCommand(norole).exit_code, 0);
  auto stub = broker_->ReleaseStub();
  for (int i = 0; i < 2; ++i) {
    v1::GetChallengeRequest request;
    request.set_key_id("disk-a");
    v1::GetChallengeResponse response;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->GetChallenge(&ctx, request, &response).ok());
  }
  const std::string m = Scrape();
  EXPECT_THAT(
      m,
      HasSubstr(R"(keybroker_admin_calls_total{action="create_key",result="ok",roles="admin"} 1)"));
  EXPECT_THAT(
      m, HasSubstr(
             R"(keybroker_admin_calls_total{action="create_key",result="denied",roles="none"} 1)"));
  EXPECT_THAT(m, HasSubstr("keybroker_challenges_outstanding 2"));
}

TEST(MetricsConfigTest, ABrokerWithoutMetricsListenOpensNoListener) {
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  EXPECT_EQ(MetricsPort(**broker), 0);
  EXPECT_THAT(*ReadFile((*broker)->Path("keybrokerd.log")), Not(HasSubstr("metrics on")));
}

}  // namespace
}  // namespace kb
