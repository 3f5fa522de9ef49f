// The evidence kind through the enrol/unlock flows: recorded in the token at enrol, used to
// pick the source at unlock (in-process broker; the "azure" source is a TPM quote source in
// disguise so the broker's TPM verifier accepts it).
#include <map>

#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/unlocker/flow/flows_fixture.h"
#include "unlocker/evidence/tpm_quote_source.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/volume_flows.h"

namespace kb {
namespace {

class EvidenceFlowsTest : public FlowsFixture {
 protected:
  void SetUp() override {
    FlowsFixture::SetUp();
    AllowWeb1();
    source_ = std::make_unique<TpmQuoteSource>(*tpm_);
    evidence_for_ = [this](const std::string& kind) -> absl::StatusOr<EvidenceSource*> {
      asked_.push_back(kind);
      if (kind == "tdx") return absl::UnavailableError("no configfs-tsm");
      return source_.get();
    };
  }

  absl::StatusOr<KeybrokerToken> EnrollWith(const std::string& kind) {
    EnrollOptions options;
    options.endpoints = {"up:1"};
    options.ca_pem = ca_pem_;
    options.target = {"disk", 0, {0, 7}, TransferKeyType::kEccP256};
    options.evidence = kind;
    options.evidence_for = evidence_for_;
    return Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  }

  UnlockOptions Unlocking(EvidenceSourceFor evidence_for) {
    UnlockOptions options;
    options.ca_pem = ca_pem_;
    options.evidence_for = std::move(evidence_for);
    return options;
  }

  std::unique_ptr<TpmQuoteSource> source_;
  EvidenceSourceFor evidence_for_;
  std::vector<std::string> asked_;
};

TEST_F(EvidenceFlowsTest, EnrolRecordsTheKindAndUnlockUsesIt) {
  auto token = EnrollWith("azure");
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->evidence, "azure");
  EXPECT_EQ(volume_.tokens().begin()->second.evidence, "azure");
  asked_.clear();
  auto r = Unlock(volume_, *tpm_, connect_, Unlocking(evidence_for_), progress_);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(asked_, ::testing::ElementsAre("azure"));
}

TEST_F(EvidenceFlowsTest, WithoutASourceFactoryOnlyTpmTokensWork) {
  ASSERT_THAT(EnrollWith("snp"), IsOk());
  auto r = Unlock(volume_, *tpm_, connect_, Unlocking(nullptr), progress_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeOf(r.status()), ExitCode::kUsage);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("snp"));
}

TEST_F(EvidenceFlowsTest, AMissingDeviceIsReportedLikeAMissingTpm) {
  auto token = EnrollWith("tdx");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(ExitCodeOf(token.status()), ExitCode::kTpmUnavailable);
  EXPECT_TRUE(volume_.tokens().empty());
}

TEST_F(EvidenceFlowsTest, TpmIsTheDefaultKind) {
  EnrollOptions options;
  options.endpoints = {"up:1"};
  options.ca_pem = ca_pem_;
  options.target = {"disk", 0, {7}, TransferKeyType::kEccP256};
  auto token =
      Enroll(volume_, *tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->evidence, "tpm");
  EXPECT_THAT(Unlock(volume_, *tpm_, connect_, Unlocking(nullptr), progress_), IsOk());
}

}  // namespace
}  // namespace kb
