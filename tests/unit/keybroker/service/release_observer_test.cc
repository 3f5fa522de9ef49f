// What ReleaseService tells its observer (the metrics): each decision's result, evidence kind and
// the check or step that refused, named by the broker and never by the request.
#include <string>
#include <vector>

#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "keybroker/service/release_service.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

struct Seen {
  std::string action, result, evidence, check;
  bool operator==(const Seen&) const = default;
};

class RecordingObserver : public ReleaseObserver {
 public:
  void Observe(const ReleaseOutcome& o) override {
    kb::MutexLock lock(&mu_);
    seen_.push_back({std::string(o.action), std::string(o.result), std::string(o.evidence),
                     std::string(o.check)});
  }
  Seen last() {
    kb::MutexLock lock(&mu_);
    return seen_.empty() ? Seen{} : seen_.back();
  }

 private:
  kb::Mutex mu_;
  std::vector<Seen> seen_;
};

class ReleaseObserverTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    ReleaseService::Deps deps = ReleaseDeps();
    deps.observer = &observer_;
    release_ = std::make_unique<ReleaseService>(deps, absl::Seconds(60));
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
  }

  RecordingObserver observer_;
};

TEST_F(ReleaseObserverTest, AnAllowedReleaseNamesNoCheck) {
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  EXPECT_EQ(observer_.last(), (Seen{"release", "allowed", "tpm", ""}));
}

TEST_F(ReleaseObserverTest, AVerifierRefusalNamesItsCheck) {
  auto stranger = *SoftwareTpm::Create();  // its AK was never registered
  EXPECT_FALSE(Release(*stranger, "disk").ok());
  EXPECT_EQ(observer_.last(), (Seen{"release", "denied", "tpm", "ak_trusted"}));
}

TEST_F(ReleaseObserverTest, RefusalsAfterTheVerifierNameTheirStep) {
  tpm_->SetPcr(7, std::string(32, '\x55'));
  EXPECT_FALSE(Release(*tpm_, "disk").ok());
  EXPECT_EQ(observer_.last(), (Seen{"release", "denied", "tpm", "policy"}));

  tpm_->SetPcr(7, std::string(32, '\x07'));
  ASSERT_THAT(denylist_->Deny({.machine = "web-1", .reason = "stolen"}), IsOk());
  EXPECT_FALSE(Release(*tpm_, "disk").ok());
  EXPECT_EQ(observer_.last(), (Seen{"release", "denied", "tpm", "machine"}));
  ASSERT_THAT(denylist_->Allow("web-1"), IsOk());

  ASSERT_THAT(keys_->SetDisabled("disk", true), IsOk());
  EXPECT_FALSE(Release(*tpm_, "disk").ok());
  EXPECT_EQ(observer_.last(), (Seen{"release", "denied", "tpm", "key"}));
}

TEST_F(ReleaseObserverTest, RefusalsBeforeTheEvidenceNameRequestOrChallenge) {
  v1::ReleaseKeyRequest request;
  request.set_key_id("disk\nrelease allowed");  // hostile text never becomes a label
  EXPECT_FALSE(release_->ReleaseKey(request, "peer").ok());
  EXPECT_EQ(observer_.last(), (Seen{"release", "denied", "none", "request"}));

  v1::GetChallengeRequest cr;
  cr.set_key_id("disk");
  auto c = *release_->GetChallenge(cr);
  auto good = *BuildRequest(*tpm_, c.challenge_id(), c.nonce(), "disk");
  ASSERT_THAT(release_->ReleaseKey(good, "peer"), IsOk());
  EXPECT_FALSE(release_->ReleaseKey(good, "peer").ok());  // the challenge is spent
  EXPECT_EQ(observer_.last(), (Seen{"release", "denied", "tpm", "challenge"}));

  good.set_dry_run(true);
  EXPECT_FALSE(release_->ReleaseKey(good, "peer").ok());
  EXPECT_EQ(observer_.last(), (Seen{"release_test", "denied", "tpm", "challenge"}));
}

}  // namespace
}  // namespace kb
