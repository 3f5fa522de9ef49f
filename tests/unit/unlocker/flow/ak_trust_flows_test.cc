// The --ak-trust ek hooks of the enrol and unlock flows against an in-process broker core. The
// activation itself (ActivateAkThroughEk) is tested in ak_activation_flow_test.cc; here the
// activator registers the AK directly, as a successful activation does.
#include "absl/strings/str_join.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/unlocker/flow/flows_fixture.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/volume_flows.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class AkTrustFlowsTest : public FlowsFixture {
 protected:
  void SetUp() override {
    FlowsFixture::SetUp();
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("ek:0011223344556677")), IsOk());
    // A successful activation: the broker registers the AK under the EK's machine.
    activate_ = [this](const std::vector<std::string>& endpoints) {
      ++activations_;
      return register_on_activation_ ? RegisterDirectly() : absl::OkStatus();
    };
  }

  absl::Status RegisterDirectly() {
    const std::string pub = *tpm_->AttestationKeyPublic();
    return aks_->Register(
        {*TpmName(TPM2_ALG_SHA256, pub), "ek:0011223344556677", pub, clock_.Now()});
  }

  absl::StatusOr<KeybrokerToken> EnrollEk() {
    EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {7}, TransferKeyType::kEccP256}};
    options.ak_trust = kAkTrustEk;
    options.activate_ak = activate_;
    return Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  }

  absl::StatusOr<UnlockResult> UnlockTest(AkActivator activate) {
    UnlockOptions options{ca_pem_, ""};
    options.activate_ak = std::move(activate);
    return Unlock(volume_, *tpm_, connect_, options, progress_);
  }

  void ForgetAks() { ASSERT_THAT(db_->Exec("DELETE FROM attestation_keys"), IsOk()); }

  AkActivator activate_;
  int activations_ = 0;
  bool register_on_activation_ = true;
};

TEST_F(AkTrustFlowsTest, EnrolActivatesBeforeTheReleaseAndRecordsIt) {
  auto token = EnrollEk();
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(activations_, 1);
  EXPECT_EQ(token->ak_trust, "ek");
  EXPECT_EQ(volume_.ListTokens()->front().ak_trust, "ek");
}

TEST_F(AkTrustFlowsTest, FailedActivationLeavesTheVolumeUnchanged) {
  activate_ = [](const std::vector<std::string>&) {
    return WithExitCode(absl::UnauthenticatedError("ek_certificate_chain"), ExitCode::kDenied);
  };
  auto token = EnrollEk();
  EXPECT_EQ(ExitCodeOf(token.status()), ExitCode::kDenied);
  EXPECT_EQ(volume_.ListKeyslots()->size(), 1u);
  EXPECT_TRUE(volume_.ListTokens()->empty());
}

TEST_F(AkTrustFlowsTest, UnlockProvesTheAkAgainWhenTheBrokerForgotIt) {
  ASSERT_THAT(EnrollEk(), IsOk());
  EXPECT_THAT(UnlockTest(activate_), IsOk());
  EXPECT_EQ(activations_, 1);  // trusted: nothing to do
  ForgetAks();
  auto result = UnlockTest(activate_);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(activations_, 2);
  EXPECT_THAT(absl::StrJoin(lines_, "\n"), HasSubstr("proving it through the EK again"));
}

TEST_F(AkTrustFlowsTest, UnlockRetriesOnlyOnce) {
  ASSERT_THAT(EnrollEk(), IsOk());
  ForgetAks();
  register_on_activation_ = false;  // "succeeds" but the broker still does not trust the AK
  auto result = UnlockTest(activate_);
  EXPECT_EQ(ExitCodeOf(result.status()), ExitCode::kDenied);
  EXPECT_THAT(result.status().message(), HasSubstr("ak_trusted"));
  EXPECT_EQ(activations_, 2);
}

TEST_F(AkTrustFlowsTest, RegisteredAkTokensAreNeverActivated) {
  ASSERT_THAT(RegisterDirectly(), IsOk());  // as an operator (or an earlier activation) did
  EnrollOptions options{{"up:1"}, {}, ca_pem_, {"disk", 0, {7}, TransferKeyType::kEccP256}};
  ASSERT_TRUE(
      Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_).ok());
  EXPECT_EQ(volume_.ListTokens()->front().ak_trust, "");
  ForgetAks();
  auto result = UnlockTest(activate_);
  EXPECT_EQ(ExitCodeOf(result.status()), ExitCode::kDenied);
  EXPECT_EQ(activations_, 0);
}

}  // namespace
}  // namespace kb
