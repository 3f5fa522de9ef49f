// The real `kbunlock` binary on a machine without a TPM (a TCTI that reaches none), over LUKS2
// image files: SEV-SNP/TDX evidence goes on without one (here as far as the broker, which is
// unreachable), TPM evidence fails as before with "TPM unavailable".
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/luks/cryptsetup_volume.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNoTpm[] = "device:/nonexistent/tpmrm0";
constexpr char kTpmError[] =
    "TPM unavailable: TPM unreachable via TCTI \"device:/nonexistent/tpmrm0\"";

class TeeWithoutTpmCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-notpm-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    image_ = dir_ + "/disk.img";
    pass_ = dir_ + "/pass";
    ca_ = SourcePath("tests/data/flows/ca.pem");
    absl::Status luks = MakeLuks2Image(image_, pass_, "20M");
    ASSERT_THAT(luks, IsOk());
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  // A keybroker token of evidence `kind` for keyslot 0, naming a broker that is not there.
  void AddToken(const std::string& kind) {
    auto volume = CryptsetupVolume::Open(image_);
    ASSERT_THAT(volume, IsOk());
    KeybrokerToken t;
    t.keyslot = 0;
    t.endpoints = {"127.0.0.1:1"};
    t.ca_sha256 = *CertificateSha256(*ReadFile(ca_));
    t.key_id = "disk";
    t.key_version = 1;
    t.evidence = kind;
    ASSERT_THAT((*volume)->WriteToken(t), IsOk());
  }

  // kbunlock with no TPM and no TEE device.
  CommandResult Kbunlock(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("kbunlock"));
    for (const std::string& a : std::vector<std::string>{
             "--tcti", kNoTpm, "--ca", ca_, "--sev-guest", "/nonexistent/sev-guest",
             "--tsm-report-dir", dir_ + "/tsm", "--timeout", "2"}) {
      args.push_back(a);
    }
    return RunCommand(args);
  }
  CommandResult Unlock(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"unlock", "--device", image_, "--test"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Kbunlock(args);
  }
  // (--replace: the volume may already carry a token from AddToken.)
  CommandResult Enroll(const std::string& evidence) {
    return Kbunlock({"enroll", "--device", image_, "--broker", "127.0.0.1:1", "--key-id", "disk",
                     "--passphrase-file", pass_, "--evidence", evidence, "--replace"});
  }

  static int Code(ExitCode c) { return static_cast<int>(c); }

  std::string dir_, image_, pass_, ca_;
};

TEST_F(TeeWithoutTpmCliTest, TdxTokenGoesOnWithoutATpm) {
  AddToken("tdx");
  CommandResult r = Unlock();
  EXPECT_EQ(r.exit_code, Code(ExitCode::kBrokerUnreachable)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no TPM on this machine (TPM unreachable via TCTI"));
  EXPECT_THAT(r.output, HasSubstr("only volumes enrolled with snp or tdx evidence"));
  EXPECT_THAT(r.output, HasSubstr("offline grace needs a vTPM"));
  EXPECT_THAT(r.output, HasSubstr("attesting to broker 127.0.0.1:1"));
  EXPECT_THAT(r.output, Not(HasSubstr("TPM unavailable")));
}

TEST_F(TeeWithoutTpmCliTest, StatusNamesTheEvidenceEachTokenNeeds) {
  CommandResult r =
      Kbunlock({"status", "--device", image_, "--quiet-if-no-token", "--evidence-kinds"});
  EXPECT_EQ(r.exit_code, Code(ExitCode::kNoToken)) << r.output;
  EXPECT_EQ(r.output, "");
  AddToken("snp");
  r = Kbunlock({"status", "--device", image_, "--quiet-if-no-token", "--evidence-kinds"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "snp\n");
  r = Kbunlock({"status", "--device", image_, "--quiet-if-no-token"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
}

TEST_F(TeeWithoutTpmCliTest, ForcedTeeEvidenceGoesOnWithoutATpm) {
  AddToken("tpm");
  CommandResult r = Unlock({"--evidence", "tdx"});
  EXPECT_EQ(r.exit_code, Code(ExitCode::kBrokerUnreachable)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("attesting with tdx evidence only"));

  r = Enroll("tdx");
  EXPECT_EQ(r.exit_code, Code(ExitCode::kBrokerUnreachable)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("attesting with tdx evidence only"));

  // SEV-SNP gets as far as its device, which this machine lacks.
  r = Enroll("snp");
  EXPECT_EQ(r.exit_code, Code(ExitCode::kTpmUnavailable)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("attesting with snp evidence only"));
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/sev-guest"));
}

TEST_F(TeeWithoutTpmCliTest, TpmTokenStillNeedsTheTpm) {
  AddToken("tpm");
  CommandResult r = Unlock();
  EXPECT_EQ(r.exit_code, Code(ExitCode::kTpmUnavailable)) << r.output;
  EXPECT_THAT(r.output, HasSubstr(kTpmError));
  EXPECT_THAT(r.output, Not(HasSubstr("attesting to broker")));
}

TEST_F(TeeWithoutTpmCliTest, TpmKindsAndAutoDetectionFailAsBefore) {
  AddToken("tpm");
  for (const char* kind : {"tpm", "azure"}) {
    CommandResult r = Unlock({"--evidence", kind});
    EXPECT_EQ(r.exit_code, Code(ExitCode::kTpmUnavailable)) << r.output;
    EXPECT_THAT(r.output, HasSubstr(kTpmError));
    EXPECT_THAT(r.output, Not(HasSubstr("no TPM on this machine")));
  }
  // Neither TPM nor TEE device: enrolment fails with today's error.
  for (const char* kind : {"auto", "tpm"}) {
    CommandResult r = Enroll(kind);
    EXPECT_EQ(r.exit_code, Code(ExitCode::kTpmUnavailable)) << r.output;
    EXPECT_THAT(r.output, HasSubstr(kTpmError));
    EXPECT_THAT(r.output, Not(HasSubstr("no TPM on this machine")));
  }
}

}  // namespace
}  // namespace kb
