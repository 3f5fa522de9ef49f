// The broker CA a token pins, at enrolment and at unlock: a CA file holding a second certificate
// is refused before any broker is contacted, since TLS would trust every certificate in it.
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/unlocker/flow/flows_fixture.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/volume_flows.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class CaPinFlowsTest : public FlowsFixture {
 protected:
  void SetUp() override {
    FlowsFixture::SetUp();
    AllowWeb1();
    other_ca_ =
        *ReadFile(std::string(std::getenv("KB_SOURCE_DIR")) + "/tests/data/flows/other-ca.pem");
    counting_ = [this](const std::string& endpoint) {
      ++contacted_;
      return connect_(endpoint);
    };
  }

  absl::StatusOr<KeybrokerToken> EnrolWith(const std::string& ca_pem) {
    EnrollOptions options{{"up:1"}, {}, ca_pem, {"disk", 0, {0, 7}, TransferKeyType::kEccP256}};
    return Enroll(volume_, *tpm_, counting_, SecretBytes::FromString("pass"), options, progress_);
  }

  std::string other_ca_;
  int contacted_ = 0;
  BrokerConnector counting_;
};

TEST_F(CaPinFlowsTest, EnrolmentRefusesACaFileWithASecondCertificate) {
  for (const std::string& bundle : {ca_pem_ + other_ca_, other_ca_ + ca_pem_, ca_pem_ + ca_pem_}) {
    auto token = EnrolWith(bundle);
    EXPECT_THAT(token, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("the CA file holds 2 certificates")));
    EXPECT_EQ(ExitCodeOf(token.status()), ExitCode::kUsage);
  }
  EXPECT_EQ(contacted_, 0);
  EXPECT_TRUE(volume_.tokens().empty());
}

TEST_F(CaPinFlowsTest, UnlockRefusesTheEnrolledCaWithAnotherAppended) {
  ASSERT_THAT(EnrolWith(ca_pem_), IsOk());
  const int after_enrolment = contacted_;
  auto r = Unlock(volume_, *tpm_, counting_, {ca_pem_ + other_ca_, "root"}, progress_);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("keep only the broker's CA in it")));
  EXPECT_EQ(contacted_, after_enrolment);
  EXPECT_EQ(volume_.activated(), "");
  // The same file without the second certificate unlocks.
  EXPECT_THAT(Unlock(volume_, *tpm_, counting_, {ca_pem_, "root"}, progress_), IsOk());
  EXPECT_EQ(volume_.activated(), "root");
}

}  // namespace
}  // namespace kb
