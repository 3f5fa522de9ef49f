// The guest's enrolment confirmations through the flows (enrol, re-enrol, unlock) against an
// in-process broker core, over a fake volume.
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/unlocker/flow/flows_fixture.h"
#include "unlocker/flow/offline_grace.h"
#include "unlocker/flow/volume_flows.h"

namespace kb {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Calls the broker's ReleaseService directly; confirmations fail while `confirm_down` is set.
class FlakyConfirmationClient final : public InProcessClient {
 public:
  FlakyConfirmationClient(ReleaseService* service, const bool* confirm_down, int* confirmations)
      : InProcessClient(service), confirm_down_(confirm_down), confirmations_(confirmations) {}
  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& r) override {
    ++*confirmations_;
    if (*confirm_down_) return absl::UnavailableError("connection reset");
    return InProcessClient::ConfirmEnrolment(r);
  }

 private:
  const bool* confirm_down_;
  int* confirmations_;
};

class ConfirmationFlowsTest : public FlowsFixture {
 protected:
  void SetUp() override {
    FlowsFixture::SetUp();
    AllowWeb1();
    connect_ = [this](const std::string&) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
      return std::unique_ptr<KeyReleaseClient>(
          new FlakyConfirmationClient(release_.get(), &confirm_down_, &confirmations_));
    };
  }
  absl::StatusOr<KeybrokerToken> EnrollVolume() {
    EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
    return Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  }
  absl::StatusOr<UnlockResult> UnlockVolume() {
    return Unlock(volume_, *tpm_, connect_, {ca_pem_, "root"}, progress_);
  }
  KeybrokerToken OnlyToken() {
    auto tokens = *volume_.ListTokens();
    EXPECT_EQ(tokens.size(), 1u);
    return tokens.at(0);
  }
  v1::MachineRelease Web1Status() {
    v1::GetRotationStatusRequest r;
    r.set_key_id("disk");
    auto s = admin_.keys->GetRotationStatus(r, {"CN=op", "op"});
    EXPECT_THAT(s, IsOk());
    EXPECT_EQ(s->machines_size(), 1);
    return s->machines(0);
  }
  void Rotate() {
    v1::RotateKeyRequest r;
    r.set_key_id("disk");
    ASSERT_THAT(admin_.keys->RotateKey(r, {"CN=op", "op"}), IsOk());
  }

  bool confirm_down_ = false;
  int confirmations_ = 0;
};

TEST_F(ConfirmationFlowsTest, EnrolConfirmsAndMarksTheToken) {
  ASSERT_THAT(EnrollVolume(), IsOk());
  EXPECT_EQ(OnlyToken().confirmed, std::optional<bool>(true));
  EXPECT_THAT(lines_, Contains(HasSubstr("confirmed to the broker: enrolled with key 'disk' "
                                         "version 1")));
  EXPECT_EQ(Web1Status().source(), "confirmed");
  EXPECT_EQ(Web1Status().version(), 1u);
  // A confirmed token is not confirmed again.
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_EQ(confirmations_, 1);
}

TEST_F(ConfirmationFlowsTest, ReEnrolmentConfirmsTheNewVersion) {
  ASSERT_THAT(EnrollVolume(), IsOk());
  Rotate();
  auto r = UnlockVolume();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, 2u);
  KeybrokerToken token = OnlyToken();
  EXPECT_EQ(token.key_version, 2u);
  EXPECT_EQ(token.confirmed, std::optional<bool>(true));
  v1::MachineRelease status = Web1Status();
  EXPECT_EQ(status.version(), 2u);
  EXPECT_EQ(status.source(), "confirmed");
  EXPECT_TRUE(status.current());
  v1::RetireKeyVersionRequest retire;
  retire.set_key_id("disk");
  retire.set_version(1);
  EXPECT_THAT(admin_.keys->RetireKeyVersion(retire, {"CN=op", "op"}), IsOk());  // no --force needed
}

// A re-enrolment on another vTPM than the one the old token names (its state was not kept)
// records the vTPM it ran on, also when no offline copy is sealed.
TEST_F(ConfirmationFlowsTest, ReEnrolmentRecordsTheVtpmItRanOn) {
  ASSERT_THAT(EnrollVolume(), IsOk());
  KeybrokerToken old = OnlyToken();
  ASSERT_EQ(old.vtpm, VtpmId(*tpm_));
  old.vtpm = std::string(32, '0');  // enrolled on a vTPM that is gone
  ASSERT_THAT(volume_.WriteToken(old), IsOk());
  Rotate();
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_THAT(lines_, Contains(HasSubstr("is not the one the volume was enrolled on")));
  EXPECT_EQ(OnlyToken().key_version, 2u);
  EXPECT_EQ(OnlyToken().vtpm, VtpmId(*tpm_));
  lines_.clear();
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_THAT(lines_, Not(Contains(HasSubstr("is not the one the volume was enrolled on"))));
}

TEST_F(ConfirmationFlowsTest, FailedConfirmationWarnsAndIsRetriedAtTheNextUnlock) {
  confirm_down_ = true;
  ASSERT_THAT(EnrollVolume(), IsOk());  // not fatal
  EXPECT_EQ(OnlyToken().confirmed, std::optional<bool>(false));
  EXPECT_THAT(lines_, Contains(HasSubstr("warning: could not confirm the enrolment")));
  EXPECT_EQ(Web1Status().source(), "release");
  ASSERT_THAT(UnlockVolume(), IsOk());  // still down: the volume opens anyway
  EXPECT_EQ(OnlyToken().confirmed, std::optional<bool>(false));
  confirm_down_ = false;
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_EQ(OnlyToken().confirmed, std::optional<bool>(true));
  EXPECT_EQ(Web1Status().source(), "confirmed");
  EXPECT_EQ(confirmations_, 3);
}

TEST_F(ConfirmationFlowsTest, FailedReEnrolmentConfirmationLeavesTheMachineOnTheOldVersion) {
  ASSERT_THAT(EnrollVolume(), IsOk());
  Rotate();
  confirm_down_ = true;
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_EQ(OnlyToken().key_version, 2u);
  EXPECT_EQ(OnlyToken().confirmed, std::optional<bool>(false));
  EXPECT_EQ(Web1Status().version(), 1u);  // as far as the broker knows
  confirm_down_ = false;
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_EQ(Web1Status().version(), 2u);
  EXPECT_EQ(OnlyToken().confirmed, std::optional<bool>(true));
}

TEST_F(ConfirmationFlowsTest, TokensFromBeforeConfirmationsAreLeftAlone) {
  ASSERT_THAT(EnrollVolume(), IsOk());
  KeybrokerToken legacy = OnlyToken();
  legacy.confirmed.reset();
  ASSERT_THAT(volume_.WriteToken(legacy), IsOk());
  confirmations_ = 0;
  ASSERT_THAT(UnlockVolume(), IsOk());
  EXPECT_EQ(confirmations_, 0);
  EXPECT_FALSE(OnlyToken().confirmed.has_value());
}

}  // namespace
}  // namespace kb
