// The unlocker's flows against an in-process broker core (no network, no TPM, no LUKS).
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/unlocker/flow/flows_fixture.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/flow/volume_flows.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FlowsTest : public FlowsFixture {
 protected:
  void SetUp() override {
    FlowsFixture::SetUp();
    AllowWeb1();
  }
};

TEST_F(FlowsTest, ObtainKeyReturnsTheStoredKey) {
  InProcessClient client(release_.get());
  auto released = ObtainKey(*tpm_, client, {"disk", 0, {0, 7}, TransferKeyType::kEccP256});
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(released->key, *keys_->GetKeyMaterial("disk", 1)));
  EXPECT_EQ(released->version, 1u);
}

// A broker client that hands out `stale` challenges (ids the broker never issued, as a broker
// from before an upgrade or restart would have) before passing GetChallenge through.
class StaleChallengeClient final : public InProcessClient {
 public:
  StaleChallengeClient(ReleaseService* service, int stale)
      : InProcessClient(service), stale_(stale) {}
  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest& r) override {
    if (stale_-- <= 0) return InProcessClient::GetChallenge(r);
    v1::GetChallengeResponse old;
    old.set_challenge_id(std::string(32, '0'));
    old.set_nonce(std::string(32, 'n'));
    return old;
  }
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& r) override {
    ++releases;
    return InProcessClient::ReleaseKey(r);
  }
  int releases = 0;

 private:
  int stale_;
};

TEST_F(FlowsTest, AChallengeTheBrokerRefusesIsReplacedOnce) {
  StaleChallengeClient once(release_.get(), 1);
  auto released = ObtainKey(*tpm_, once, {"disk", 0, {7}, TransferKeyType::kEccP256});
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(once.releases, 2);
  // Through the endpoint list too.
  BrokerConnector stale_once =
      [&](const std::string&) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
    return std::unique_ptr<KeyReleaseClient>(new StaleChallengeClient(release_.get(), 1));
  };
  EXPECT_THAT(ObtainKeyFromAny(*tpm_, stale_once, {"a:1"},
                               {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_),
              IsOk());
  // Only once: a broker that refuses the fresh challenge too is a refusal.
  StaleChallengeClient always(release_.get(), 2);
  auto refused = ObtainKey(*tpm_, always, {"disk", 0, {7}, TransferKeyType::kEccP256});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted) << refused.status();
  EXPECT_EQ(ExitCodeOf(refused.status()), ExitCode::kDenied);
  EXPECT_EQ(always.releases, 2);
}

TEST_F(FlowsTest, UnreachableEndpointFallsThroughToTheNext) {
  auto released = ObtainKeyFromAny(*tpm_, connect_, {"down:1", "up:2"},
                                   {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_);
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(released->endpoint, "up:2");
  EXPECT_THAT(lines_[0], HasSubstr("down:1"));
}

TEST_F(FlowsTest, DenialStopsAndIsTagged) {
  auto stranger = *SoftwareTpm::Create();
  auto released = ObtainKeyFromAny(*stranger, connect_, {"up:1", "up:2"},
                                   {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_);
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kDenied);
  EXPECT_EQ(lines_.size(), 1u);  // one attempt: a refusal is not retried elsewhere
}

TEST_F(FlowsTest, AllUnreachableIsTagged) {
  auto released = ObtainKeyFromAny(*tpm_, connect_, {"down:1"},
                                   {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_);
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kBrokerUnreachable);
  auto none =
      ObtainKeyFromAny(*tpm_, connect_, {}, {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_);
  EXPECT_EQ(ExitCodeOf(none.status()), ExitCode::kBrokerUnreachable);
}

TEST(ExitCodesTest, TagsSurviveAndDefaultToInternal) {
  EXPECT_EQ(ExitCodeOf(absl::OkStatus()), ExitCode::kOk);
  EXPECT_EQ(ExitCodeOf(absl::InternalError("x")), ExitCode::kInternal);
  absl::Status s = WithExitCode(absl::NotFoundError("x"), ExitCode::kNoToken);
  EXPECT_EQ(ExitCodeOf(s), ExitCode::kNoToken);
  EXPECT_EQ(ExitCodeOf(WithExitCode(s, ExitCode::kUsage)), ExitCode::kNoToken);
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

// Enrol and unlock through the flows, with offline grace, over a fake volume.
class VolumeFlowsTest : public FlowsTest {
 protected:
  void SetUp() override {
    FlowsTest::SetUp();
    EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
    auto token =
        Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
    ASSERT_THAT(token, IsOk());
  }

  void GrantOffline(uint32_t boots) {
    ASSERT_TRUE(SetPolicy("disk", absl::StrCat(R"({"allow":[{"machines":["web-1"],)",
                                               R"("offline_boots":)", boots, "}]}"))
                    .ok());
  }

  absl::StatusOr<UnlockResult> UnlockVia(const std::string& endpoint) {
    volume_.tokens().begin()->second.endpoints = {endpoint};
    return Unlock(volume_, *tpm_, connect_, {ca_pem_, "root"}, progress_);
  }
};

TEST_F(VolumeFlowsTest, OnlineUnlockActivatesAndRecordsNoOfflineCopyByDefault) {
  auto r = UnlockVia("up:1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(volume_.activated(), "root");
  EXPECT_FALSE(r->offline);
  EXPECT_FALSE(volume_.tokens().begin()->second.offline.has_value());
}

TEST_F(VolumeFlowsTest, OfflineGraceCountsDownThenRefuses) {
  GrantOffline(2);
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
  ASSERT_TRUE(volume_.tokens().begin()->second.offline.has_value());
  auto first = UnlockVia("down:1");
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->offline);
  EXPECT_EQ(first->offline_boots_left, 1u);
  auto second = UnlockVia("down:1");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->offline_boots_left, 0u);
  auto third = UnlockVia("down:1");
  EXPECT_EQ(ExitCodeOf(third.status()), ExitCode::kBrokerUnreachable);
  EXPECT_THAT(std::string(third.status().message()), HasSubstr("allowance used up"));
  // Reaching the broker again resets the allowance.
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
  EXPECT_THAT(UnlockVia("down:1"), IsOk());
}

TEST_F(VolumeFlowsTest, ChangedPcrsMakeTheOfflineCopyUseless) {
  GrantOffline(5);
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
  tpm_->ExtendPcr(7, std::string(32, 'x'));
  auto r = UnlockVia("down:1");
  EXPECT_EQ(ExitCodeOf(r.status()), ExitCode::kBrokerUnreachable);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("PCR values changed"));
}

TEST_F(VolumeFlowsTest, PolicyWithoutOfflineBootsDropsTheCopy) {
  GrantOffline(3);
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
  ASSERT_TRUE(volume_.tokens().begin()->second.offline.has_value());
  GrantOffline(0);
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
  EXPECT_FALSE(volume_.tokens().begin()->second.offline.has_value());
  auto r = UnlockVia("down:1");
  EXPECT_EQ(ExitCodeOf(r.status()), ExitCode::kBrokerUnreachable);
}

TEST_F(VolumeFlowsTest, DenialNeverFallsBackToTheOfflineCopy) {
  GrantOffline(3);
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
  v1::DisableKeyRequest d;
  d.set_key_id("disk");
  ASSERT_THAT(admin_.keys->DisableKey(d, {"CN=op", "op"}), IsOk());
  auto r = UnlockVia("up:1");
  EXPECT_EQ(ExitCodeOf(r.status()), ExitCode::kDenied);
  EXPECT_EQ(volume_.activated(), "root");  // from the first unlock only
}

// The passphrase is checked before any broker is contacted, so a wrong one releases (and
// audits) nothing.
TEST_F(VolumeFlowsTest, AWrongPassphraseStopsEnrolmentBeforeAnyRelease) {
  FakeVolume fresh("pass");
  int contacted = 0;
  BrokerConnector counting = [&](const std::string& endpoint) {
    ++contacted;
    return connect_(endpoint);
  };
  EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
  auto wrong = Enroll(fresh, *tpm_, counting, SecretBytes::FromString("nope"), options, progress_);
  EXPECT_EQ(ExitCodeOf(wrong.status()), ExitCode::kWrongKey);
  EXPECT_EQ(contacted, 0);
}

TEST_F(VolumeFlowsTest, EnrollingAgainIsRefusedUnlessReplaceThenOneTokenAndSlotRemain) {
  EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
  auto again =
      Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  EXPECT_EQ(ExitCodeOf(again.status()), ExitCode::kUsage);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("--replace"));
  EXPECT_EQ(volume_.ListKeyslots()->size(), 2u);
  const int old_slot = volume_.tokens().begin()->second.keyslot;
  options.replace = true;
  auto replaced =
      Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  ASSERT_THAT(replaced, IsOk());
  ASSERT_EQ(volume_.tokens().size(), 1u);
  EXPECT_EQ(volume_.tokens().begin()->second.keyslot, replaced->keyslot);
  EXPECT_NE(replaced->keyslot, old_slot);
  EXPECT_EQ(volume_.ListKeyslots()->size(), 2u);  // the passphrase's and the new one
  EXPECT_THAT(UnlockVia("up:1"), IsOk());
}

TEST_F(VolumeFlowsTest, EnrolmentSealsTheOfflineCopyWhenThePolicyGrantsOfflineBoots) {
  GrantOffline(2);
  FakeVolume fresh("pass");
  EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
  auto token = Enroll(fresh, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  ASSERT_THAT(token, IsOk());
  ASSERT_EQ(fresh.tokens().size(), 1u);
  EXPECT_TRUE(fresh.tokens().begin()->second.offline.has_value());
}

TEST_F(VolumeFlowsTest, FailedEnrolLeavesTheVolumeUnchanged) {
  FakeVolume fresh("pass");
  EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
  auto wrong = Enroll(fresh, *tpm_, connect_, SecretBytes::FromString("nope"), options, progress_);
  EXPECT_EQ(ExitCodeOf(wrong.status()), ExitCode::kWrongKey);
  EXPECT_EQ(fresh.ListKeyslots()->size(), 1u);
  EXPECT_TRUE(fresh.ListTokens()->empty());
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

TEST_F(FlowsTest, RetriesWithBackoffUntilABrokerAnswers) {
  int rounds = 0;
  BrokerConnector flaky =
      [&](const std::string& endpoint) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
    if (endpoint == "a:1") ++rounds;
    if (rounds < 3) return absl::UnavailableError("connection refused");
    return std::unique_ptr<KeyReleaseClient>(new InProcessClient(release_.get()));
  };
  FakeClock clock;
  std::vector<absl::Duration> sleeps;
  RetryPolicy retry;
  retry.give_up_at = clock.Now() + absl::Seconds(30);
  retry.now = [&] { return clock.Now(); };
  retry.sleep = [&](absl::Duration d) {
    sleeps.push_back(d);
    clock.Advance(d);
  };
  auto released = ObtainKeyFromAny(*tpm_, flaky, {"a:1", "b:2"},
                                   {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_, retry);
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(released->endpoint, "a:1");
  EXPECT_THAT(sleeps, ::testing::ElementsAre(absl::Milliseconds(500), absl::Seconds(1)));
  EXPECT_THAT(lines_[1], HasSubstr("round 1: "));
  EXPECT_THAT(lines_[1], HasSubstr("retrying in 500ms"));
}

// Retries on `clock` for up to 45 s, giving up after 10 s when no broker ever answered.
RetryPolicy WindowedRetry(FakeClock& clock) {
  RetryPolicy retry;
  retry.give_up_at = clock.Now() + absl::Seconds(45);
  retry.unreachable_for = absl::Seconds(10);
  retry.now = [&clock] { return clock.Now(); };
  retry.sleep = [&clock](absl::Duration d) { clock.Advance(d); };
  return retry;
}

// With an unreachable window (a volume with an offline copy): brokers that never answer are
// given up once the window has passed, long before the bound; one that answers slowly (its
// calls exceed their deadline on a connection) keeps the whole bound.
TEST_F(FlowsTest, GivesUpEarlyOnlyWhenNoBrokerEverAnswered) {
  for (const bool slow : {false, true}) {
    FakeClock clock;
    const absl::Time start = clock.Now();
    RetryPolicy retry = WindowedRetry(clock);
    BrokerConnector down =
        [&](const std::string&) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
      if (slow) return absl::DeadlineExceededError("broker s:1: deadline exceeded");
      return absl::UnavailableError("broker d:1 unreachable: connection refused");
    };
    auto released = ObtainKeyFromAny(*tpm_, down, {"d:1"},
                                     {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_, retry);
    EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kBrokerUnreachable) << slow;
    if (slow) {
      EXPECT_GT(clock.Now() - start, absl::Seconds(30));
      EXPECT_THAT(std::string(released.status().message()), Not(HasSubstr("no broker answered")));
    } else {
      EXPECT_EQ(clock.Now() - start, absl::Seconds(10));
      EXPECT_THAT(std::string(released.status().message()),
                  HasSubstr("(no broker answered for 10s)"));
    }
  }
}

// A boot's network comes up while kbunlock gets ready (--network-ready-file): the wait runs
// before the first round, and the unreachable window starts after it, so a slow network does
// not spend the window.
TEST_F(FlowsTest, TheUnreachableWindowStartsAfterTheWaitBeforeTheFirstRound) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  RetryPolicy retry = WindowedRetry(clock);
  int rounds = 0;
  retry.before_first_round = [&] {
    EXPECT_EQ(rounds, 0);
    clock.Advance(absl::Seconds(15));  // the network took 15 s
  };
  BrokerConnector down =
      [&](const std::string&) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
    ++rounds;
    return absl::UnavailableError("broker d:1 unreachable: connection refused");
  };
  auto released = ObtainKeyFromAny(*tpm_, down, {"d:1"},
                                   {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_, retry);
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kBrokerUnreachable);
  EXPECT_GT(rounds, 1);
  EXPECT_EQ(clock.Now() - start, absl::Seconds(25));  // 15 s of network, then the 10 s window
}

TEST_F(FlowsTest, GivesUpAtTheBound) {
  FakeClock clock;
  RetryPolicy retry;
  retry.give_up_at = clock.Now() + absl::Seconds(5);
  retry.now = [&] { return clock.Now(); };
  retry.sleep = [&](absl::Duration d) { clock.Advance(d); };
  auto released = ObtainKeyFromAny(*tpm_, connect_, {"down:1"},
                                   {"disk", 0, {7}, TransferKeyType::kEccP256}, progress_, retry);
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kBrokerUnreachable);
  EXPECT_THAT(std::string(released.status().message()), HasSubstr("gave up after 4 rounds"));
  EXPECT_LE(clock.Now(), retry.give_up_at);
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

TEST_F(VolumeFlowsTest, AfterRotationTheEnrolledVersionStillUnlocks) {
  v1::RotateKeyRequest rotate;
  rotate.set_key_id("disk");
  ASSERT_THAT(admin_.keys->RotateKey(rotate, {"CN=op", "op"}), IsOk());
  // The enrolled version is still released on request.
  InProcessClient old_client(release_.get());
  auto v1_key = ObtainKey(*tpm_, old_client, {"disk", 1, {0, 7}, TransferKeyType::kEccP256});
  ASSERT_THAT(v1_key, IsOk());
  EXPECT_EQ(v1_key->version, 1u);
  EXPECT_EQ(v1_key->latest_version, 2u);
  // Asking for a version that does not exist is refused.
  InProcessClient client(release_.get());
  auto missing = ObtainKey(*tpm_, client, {"disk", 7, {0, 7}, TransferKeyType::kEccP256});
  EXPECT_EQ(ExitCodeOf(missing.status()), ExitCode::kDenied);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("has no version 7"));
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

class RekeyTest : public VolumeFlowsTest {
 protected:
  void Rotate() {
    v1::RotateKeyRequest rotate;
    rotate.set_key_id("disk");
    ASSERT_THAT(admin_.keys->RotateKey(rotate, {"CN=op", "op"}), IsOk());
  }
  // The single remaining token holds `version` and its keyslot opens with that version's key.
  void ExpectEnrolledWith(uint32_t version) {
    auto tokens = *volume_.ListTokens();
    ASSERT_EQ(tokens.size(), 1u);
    EXPECT_EQ(tokens[0].key_version, version);
    EXPECT_THAT(volume_.VerifyKey(tokens[0].keyslot, *keys_->GetKeyMaterial("disk", version)),
                IsOk());
  }
};

TEST_F(RekeyTest, UnlockReEnrolsToTheNewVersionAndWipesTheOld) {
  Rotate();
  auto r = UnlockVia("up:1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, 2u);
  ExpectEnrolledWith(2);
  EXPECT_EQ(volume_.ListKeyslots()->size(), 2u);  // the passphrase and version 2
  EXPECT_FALSE(volume_.VerifyKey(1, *keys_->GetKeyMaterial("disk", 1)).ok());
  auto again = UnlockVia("up:1");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->version, 2u);
}

// A crash at each step of the re-enrolment: the volume still opens, and a later unlock
// completes the change.
class RekeyFaultTest : public RekeyTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(RekeyFaultTest, InterruptedReEnrolmentNeverLosesTheVolume) {
  Rotate();
  volume_.FailNext(GetParam());
  auto first = UnlockVia("up:1");
  ASSERT_THAT(first, IsOk());  // opened with whichever version works
  EXPECT_EQ(volume_.activated(), "root");
  auto second = UnlockVia("up:1");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->version, 2u);
  ExpectEnrolledWith(2);
}

INSTANTIATE_TEST_SUITE_P(Steps, RekeyFaultTest,
                         ::testing::Values("AddKeyslot", "WriteToken", "RemoveToken",
                                           "RemoveKeyslot"));

}  // namespace
}  // namespace kb
