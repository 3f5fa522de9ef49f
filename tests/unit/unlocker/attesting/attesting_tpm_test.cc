// kbunlock's choice between the TPM and none: on a machine whose TCTI reaches no TPM, evidence
// kinds snp and tdx (forced, detected, or left to the tokens) go on without one; tpm and azure
// fail as before.
#include "unlocker/attesting/attesting_tpm.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class AttestingTpmTest : public ::testing::Test {
 protected:
  AttestingTpmTest() {
    config_.tcti = "device:/nonexistent/tpmrm0";  // no TPM here
    config_.sev_guest_path = "/nonexistent/sev-guest";
    config_.tsm_report_root = "/nonexistent/tsm/report";
    config_.tdx_guest_path = "/nonexistent/tdx_guest";
  }

  absl::StatusOr<AttestingTpm> Open(const std::string& requested, bool tokens_decide) {
    return OpenAttestingTpm(requested, tokens_decide, config_,
                            [this](const std::string& line) { said_.push_back(line); });
  }

  // What opening the TPM says on its own (today's error).
  std::string TpmError() {
    EsysTpmOptions options;
    options.tcti = config_.tcti;
    return std::string(EsysTpm::Create(options).status().message());
  }

  EvidenceConfig config_;
  std::vector<std::string> said_;
};

TEST_F(AttestingTpmTest, TeeKindsGoOnWithoutATpm) {
  for (const std::string kind : {"tdx", "snp"}) {
    said_.clear();
    auto t = Open(kind, /*tokens_decide=*/false);
    ASSERT_THAT(t, IsOk());
    EXPECT_EQ(t->kind, kind);
    EXPECT_EQ(t->tpm, nullptr);
    ASSERT_NE(t->evidence, nullptr);
    // The flows get the AbsentTpm: no offline grace.
    EXPECT_THAT(
        std::string(
            t->flow_tpm().SealOffline(SecretBytes::FromString("k"), {}, 1).status().message()),
        HasSubstr("offline grace needs a vTPM"));
    ASSERT_EQ(said_.size(), 1u);
    EXPECT_THAT(said_[0], HasSubstr("no TPM on this machine (" + TpmError() + ")"));
    EXPECT_THAT(said_[0], HasSubstr("attesting with " + kind + " evidence only"));
    EXPECT_THAT(said_[0], HasSubstr("offline grace needs a vTPM"));
  }
}

TEST_F(AttestingTpmTest, WithoutATpmTdxIsOfferedAndTpmKindsFailWithTheTpmError) {
  auto t = Open("tdx", /*tokens_decide=*/false);
  ASSERT_THAT(t, IsOk());
  auto tdx = t->evidence->For("tdx");
  ASSERT_THAT(tdx, IsOk());
  EXPECT_EQ((*tdx)->Name(), "TDX");
  for (const char* kind : {"tpm", "azure"}) {
    auto other = t->evidence->For(kind);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(other.status().message(), TpmError());
  }
  // The SNP device is looked for only when the source is made.
  EXPECT_EQ(t->evidence->For("snp").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AttestingTpmTest, TpmKindsStillNeedTheTpm) {
  for (const char* kind : {"tpm", "azure"}) {
    auto t = Open(kind, /*tokens_decide=*/false);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(ExitCodeOf(t.status()), ExitCode::kTpmUnavailable);
    EXPECT_EQ(t.status().message(), TpmError());
  }
  // An unlock forced to tpm evidence too.
  EXPECT_EQ(ExitCodeOf(Open("tpm", /*tokens_decide=*/false).status()), ExitCode::kTpmUnavailable);
  EXPECT_TRUE(said_.empty());
}

TEST_F(AttestingTpmTest, AutoDetectionWithNeitherTpmNorTeeGivesTodaysError) {
  auto t = Open("auto", /*tokens_decide=*/false);  // enrol
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(ExitCodeOf(t.status()), ExitCode::kTpmUnavailable);
  EXPECT_EQ(t.status().message(), TpmError());
  EXPECT_TRUE(said_.empty());
}

TEST_F(AttestingTpmTest, AutoDetectionFindsTdxWithoutATpm) {
  const std::string dir = ::testing::TempDir();
  config_.tsm_report_root = dir;  // both exist: a TDX guest
  config_.tdx_guest_path = dir;
  auto t = Open("auto", /*tokens_decide=*/false);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->kind, "tdx");
  EXPECT_EQ(t->tpm, nullptr);
}

TEST_F(AttestingTpmTest, WhenTokensDecideTheUnlockGoesOnAndTpmTokensGetTheTpmError) {
  auto t = Open("auto", /*tokens_decide=*/true);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->tpm, nullptr);
  ASSERT_EQ(said_.size(), 1u);
  EXPECT_THAT(said_[0], HasSubstr("only volumes enrolled with snp or tdx evidence"));
  auto tpm = t->evidence->For("tpm");
  EXPECT_EQ(tpm.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(tpm.status().message(), TpmError());
  EXPECT_THAT(t->evidence->For("tdx"), IsOk());
}

TEST_F(AttestingTpmTest, UnknownKindIsAUsageError) {
  auto t = Open("sgx", /*tokens_decide=*/true);
  EXPECT_EQ(ExitCodeOf(t.status()), ExitCode::kUsage);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("unknown evidence kind 'sgx'"));
}

TEST(RunsWithoutTpmTest, OnlyWithoutAReachableTpmAndForEvidenceThatNeedsNone) {
  const absl::Status unreachable = absl::UnavailableError("TPM unreachable");
  const absl::Status broken = absl::FailedPreconditionError("AK handle holds another object");
  EXPECT_TRUE(RunsWithoutTpm("snp", false, unreachable));
  EXPECT_TRUE(RunsWithoutTpm("tdx", false, unreachable));
  EXPECT_TRUE(RunsWithoutTpm("tpm", true, unreachable));
  EXPECT_FALSE(RunsWithoutTpm("tpm", false, unreachable));
  EXPECT_FALSE(RunsWithoutTpm("azure", false, unreachable));
  EXPECT_FALSE(RunsWithoutTpm("tdx", false, broken));  // a TPM is there: its error stands
  EXPECT_FALSE(RunsWithoutTpm("tdx", true, broken));
}

}  // namespace
}  // namespace kb
