// The enrol/unlock flows on a bare TDX guest without a vTPM: the real TdxQuoteSource over a fake
// configfs-tsm, the AbsentTpm in place of a TPM, and an in-process broker core. Real TD quotes
// cannot carry a broker challenge, so the broker's TDX verifier is a stand-in that performs the
// binding check of the real one (REPORTDATA[0:32] == binding) and returns TDX claims.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/fakes/fake_tsm_report_fs.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/unlocker/flow/flows_fixture.h"
#include "unlocker/evidence/tdx_quote_source.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/volume_flows.h"
#include "unlocker/tpm/absent_tpm.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr char kRoot[] = "/sys/kernel/config/tsm/report";
const std::string kMrtd(96, 'd');

// Accepts the fake configfs-tsm's "QUOTE:" + REPORTDATA when REPORTDATA carries the binding.
class ReportDataTdxVerifier final : public EvidenceVerifier {
 public:
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& tk,
                                absl::string_view binding) override {
    const std::string& quote = evidence.tdx_quote().quote();
    if (!tk.has_spki_der() || !absl::StartsWith(quote, "QUOTE:") || quote.size() != 6 + 64) {
      return CheckFailed("parse", absl::StatusCode::kInvalidArgument, "not a fake TD quote");
    }
    if (quote.substr(6, 32) != binding) {
      return CheckFailed("report_data", absl::StatusCode::kUnauthenticated, "mismatch");
    }
    Claims c;
    c.evidence_type = "tdx";
    c.machine = "tdx-fmspc:00806f050000";
    c.attributes = {{"tdx.mrtd", kMrtd}, {"tdx.debug", "false"}, {"tdx.tcb_status", "UpToDate"}};
    return c;
  }
};

class TeeWithoutTpmFlowsTest : public FlowsFixture {
 protected:
  void SetUp() override {
    FlowsFixture::SetUp();
    verifiers_.Add(v1::Evidence::kTdxQuote, std::make_unique<ReportDataTdxVerifier>());
    GrantOffline(0);
    auto fs = std::make_unique<FakeTsm>(kRoot);
    fs_ = fs.get();
    tdx_ = std::make_unique<TdxQuoteSource>(std::move(fs), kRoot);
    evidence_for_ = [this](const std::string& kind) -> absl::StatusOr<EvidenceSource*> {
      if (kind == "tdx") return tdx_.get();
      return absl::UnavailableError("no TPM");
    };
  }

  void GrantOffline(uint32_t boots) {
    ASSERT_TRUE(SetPolicy("disk", absl::StrCat(R"({"allow":[{"evidence_types":["tdx"],)",
                                               R"("tdx":{"mrtd":[")", kMrtd, R"("]},)",
                                               R"("offline_boots":)", boots, "}]}"))
                    .ok());
  }

  absl::StatusOr<KeybrokerToken> EnrollTdx() {
    EnrollOptions options;
    options.endpoints = {"up:1"};
    options.ca_pem = ca_pem_;
    options.target = {"disk", 0, {}, TransferKeyType::kEccP256};
    options.evidence = "tdx";
    options.evidence_for = evidence_for_;
    return Enroll(volume_, no_tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  }

  absl::StatusOr<UnlockResult> UnlockVia(const std::string& endpoint) {
    for (auto& [id, token] : volume_.tokens()) token.endpoints = {endpoint};
    UnlockOptions options;
    options.ca_pem = ca_pem_;
    options.map_name = "root";
    options.evidence_for = evidence_for_;
    return Unlock(volume_, no_tpm_, connect_, options, progress_);
  }

  // The progress lines that mention `text`.
  int LinesWith(absl::string_view text) const {
    int n = 0;
    for (const std::string& line : lines_) n += absl::StrContains(line, text);
    return n;
  }

  AbsentTpm no_tpm_;
  FakeTsm* fs_ = nullptr;
  std::unique_ptr<TdxQuoteSource> tdx_;
  EvidenceSourceFor evidence_for_;
};

TEST_F(TeeWithoutTpmFlowsTest, EnrolsAndUnlocksWithoutATpm) {
  auto token = EnrollTdx();
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->evidence, "tdx");
  EXPECT_TRUE(volume_.tokens().begin()->second.confirmed);
  EXPECT_EQ(fs_->removed, 2);  // one TD quote for the release, one for the confirmation
  auto r = UnlockVia("up:1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(volume_.activated(), "root");
  EXPECT_FALSE(r->offline);
  EXPECT_EQ(r->version, 1u);
  EXPECT_EQ(LinesWith("vTPM"), 0);  // no offline grace granted: nothing to say about it
}

TEST_F(TeeWithoutTpmFlowsTest, OfflineGraceWithoutATpmStillUnlocksOnlineAndSaysSo) {
  ASSERT_THAT(EnrollTdx(), IsOk());
  GrantOffline(3);
  lines_.clear();
  auto r = UnlockVia("up:1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(volume_.activated(), "root");
  EXPECT_EQ(r->offline_boots_left, 3u);                                // granted by the broker...
  EXPECT_FALSE(volume_.tokens().begin()->second.offline.has_value());  // ...but nothing sealed
  EXPECT_EQ(LinesWith("offline grace needs a vTPM (no sealed copy is kept"), 1);
  EXPECT_EQ(LinesWith("sealed an offline copy in the vTPM"), 0);

  // Without a sealed copy an unreachable broker fails the unlock (nothing is opened).
  auto down = UnlockVia("down:1");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(ExitCodeOf(down.status()), ExitCode::kBrokerUnreachable);
  EXPECT_THAT(std::string(down.status().message()), HasSubstr("connection refused"));
}

TEST_F(TeeWithoutTpmFlowsTest, ReEnrolsAfterARotationWithoutATpm) {
  ASSERT_THAT(EnrollTdx(), IsOk());
  GrantOffline(2);
  v1::RotateKeyRequest rotate;
  rotate.set_key_id("disk");
  ASSERT_THAT(admin_.keys->RotateKey(rotate, {"CN=op", "op"}), IsOk());
  lines_.clear();
  auto r = UnlockVia("up:1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, 2u);
  ASSERT_EQ(volume_.tokens().size(), 1u);
  EXPECT_EQ(volume_.tokens().begin()->second.key_version, 2u);
  EXPECT_FALSE(volume_.tokens().begin()->second.offline.has_value());
  EXPECT_EQ(LinesWith("offline grace needs a vTPM"), 1);  // after the re-enrolment's release
  ASSERT_THAT(UnlockVia("up:1"), IsOk());
}

TEST_F(TeeWithoutTpmFlowsTest, TpmEvidenceOnTheAbsentTpmIsTpmUnavailable) {
  EnrollOptions options;
  options.endpoints = {"up:1"};
  options.ca_pem = ca_pem_;
  options.target = {"disk", 0, {7}, TransferKeyType::kEccP256};
  auto token =
      Enroll(volume_, no_tpm_, connect_, SecretBytes::FromString("pass"), options, progress_);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(ExitCodeOf(token.status()), ExitCode::kTpmUnavailable);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("no TPM on this machine"));
  EXPECT_TRUE(volume_.tokens().empty());
  EXPECT_EQ(volume_.ListKeyslots()->size(), 1u);
}

}  // namespace
}  // namespace kb
