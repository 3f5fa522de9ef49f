// The broker core under concurrency (run under ThreadSanitizer by scripts/run-sanitizers.sh):
// releases from several guests at once, with the challenge quota and the refusal tally in the
// path, while an operator edits the policy with compare-and-set and replays are refused.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "keybroker/service/challenge_quota.h"
#include "keybroker/service/refusal_tally.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

class BrokerConcurrencyTest : public BrokerFixture {};

TEST_F(BrokerConcurrencyTest, ReleasesPolicyEditsAndReplaysAtOnce) {
  constexpr int kGuests = 4, kReleasesEach = 20;
  ChallengeQuota quota(1000, 100);
  RefusalTally refusals(audit_.get(), &clock_, absl::Hours(1));
  ReleaseService release(
      {keys_.get(), challenges_.get(), audit_.get(), denylist_.get(), &verifiers_, &clock_,
       revocations_.get(), machine_keys_.get(), machine_keys_.get(), &quota, &refusals},
      absl::Seconds(60));
  std::vector<std::unique_ptr<SoftwareTpm>> guests;
  std::string machines;
  for (int g = 0; g < kGuests; ++g) {
    guests.push_back(*SoftwareTpm::Create());
    guests.back()->SetPcr(7, std::string(32, '\x07'));
    RegisterAk(*guests.back(), absl::StrCat("m", g));
    absl::StrAppend(&machines, g == 0 ? "" : ",", "\"m", g, "\"");
  }
  CreateKey("disk");
  const std::string policy = absl::StrCat(R"({"allow":[{"machines":[)", machines, "]}]}");
  ASSERT_THAT(SetPolicy("disk", policy), IsOk());

  std::atomic<int> allowed{0}, replays_refused{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int g = 0; g < kGuests; ++g) {
    threads.emplace_back([&, g] {
      for (int i = 0; i < kReleasesEach; ++i) {
        v1::GetChallengeRequest cr;
        cr.set_key_id("disk");
        auto challenge = release.GetChallenge(cr, absl::StrCat("ipv4:10.0.0.", g, ":1"));
        if (!challenge.ok()) continue;
        auto request =
            BuildRequest(*guests[g], challenge->challenge_id(), challenge->nonce(), "disk");
        if (!request.ok()) continue;
        if (release.ReleaseKey(*request, "ipv4:10.0.0.1:1").ok()) ++allowed;
        if (!release.ReleaseKey(*request, "ipv4:10.0.0.1:1").ok()) ++replays_refused;
      }
    });
  }
  threads.emplace_back([&] {  // an operator re-setting the same policy with compare-and-set
    while (!done) {
      v1::GetPolicyRequest get;
      get.set_key_id("disk");
      auto current = admin_.policies->GetPolicy(get, {"CN=op", "op"});
      if (!current.ok()) continue;
      v1::SetPolicyRequest set;
      set.set_key_id("disk");
      set.set_policy_json(policy);
      set.set_expected_version(current->policy_version());
      (void)admin_.policies->SetPolicy(set, {"CN=op", "op"});
    }
  });
  for (int g = 0; g < kGuests; ++g) threads[g].join();
  done = true;
  threads.back().join();
  EXPECT_EQ(allowed, kGuests * kReleasesEach);
  EXPECT_EQ(replays_refused, kGuests * kReleasesEach);
  EXPECT_EQ(quota.outstanding(), 0u);
  refusals.Flush();
  auto report = audit_->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->problem;
}

}  // namespace
}  // namespace kb
