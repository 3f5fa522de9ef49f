// The unlocker's flows against an in-process broker core (no network, no TPM, no LUKS).
#include "gmock/gmock.h"
#include "tests/unit/keybroker/broker_fixture.h"
#include "unlocker/flow/exit_codes.h"
#include "unlocker/flow/key_retrieval.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// KeyReleaseClient that calls the broker's ReleaseService directly.
class InProcessClient final : public KeyReleaseClient {
 public:
  explicit InProcessClient(ReleaseService* service) : service_(service) {}
  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest& r) override {
    return service_->GetChallenge(r);
  }
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& r) override {
    return service_->ReleaseKey(r, "in-process");
  }

 private:
  ReleaseService* service_;
};

class FlowsTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    ASSERT_TRUE(SetPolicy("disk", Pcr7PolicyFor("web-1")).ok());
    connect_ =
        [this](const std::string& endpoint) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
      if (endpoint == "down:1") return absl::UnavailableError("connection refused");
      return std::unique_ptr<KeyReleaseClient>(new InProcessClient(release_.get()));
    };
  }
  BrokerConnector connect_;
  std::vector<std::string> lines_;
  Progress progress_ = [this](const std::string& l) { lines_.push_back(l); };
};

TEST_F(FlowsTest, ObtainKeyReturnsTheStoredKey) {
  InProcessClient client(release_.get());
  auto released = ObtainKey(*tpm_, client, {"disk", {0, 7}, TransferKeyType::kEccP256});
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_TRUE(ConstantTimeEquals(released->key, *keys_->GetKeyMaterial("disk", 1)));
  EXPECT_EQ(released->version, 1u);
}

TEST_F(FlowsTest, UnreachableEndpointFallsThroughToTheNext) {
  auto released = ObtainKeyFromAny(*tpm_, connect_, {"down:1", "up:2"},
                                   {"disk", {7}, TransferKeyType::kEccP256}, progress_);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->endpoint, "up:2");
  EXPECT_THAT(lines_[0], HasSubstr("down:1"));
}

TEST_F(FlowsTest, DenialStopsAndIsTagged) {
  auto stranger = *SoftwareTpm::Create();
  auto released = ObtainKeyFromAny(*stranger, connect_, {"up:1", "up:2"},
                                   {"disk", {7}, TransferKeyType::kEccP256}, progress_);
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kDenied);
  EXPECT_EQ(lines_.size(), 1u);  // one attempt: a refusal is not retried elsewhere
}

TEST_F(FlowsTest, AllUnreachableIsTagged) {
  auto released = ObtainKeyFromAny(*tpm_, connect_, {"down:1"},
                                   {"disk", {7}, TransferKeyType::kEccP256}, progress_);
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kBrokerUnreachable);
  auto none =
      ObtainKeyFromAny(*tpm_, connect_, {}, {"disk", {7}, TransferKeyType::kEccP256}, progress_);
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
