// kbunlock's side of the initramfs script's boot: which attesters the tokens need, the bounded
// wait for their devices (real files in a temporary directory), and the network request.
#include "unlocker/boot/boot_handshake.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

KeybrokerToken Token(const std::string& evidence, bool offline = false,
                     const std::string& vtpm = "") {
  KeybrokerToken t;
  t.evidence = evidence;
  if (offline) t.offline = OfflineSeal{};
  t.vtpm = vtpm;
  return t;
}

TEST(AttestersNeededTest, EachKindOnceAndTheVtpmForATeeTokensOfflineCopy) {
  EXPECT_THAT(AttestersNeeded({}), IsEmpty());
  EXPECT_THAT(AttestersNeeded({Token("tpm"), Token("azure")}), ElementsAre("tpm"));
  EXPECT_THAT(AttestersNeeded({Token("snp")}), ElementsAre("snp"));
  EXPECT_THAT(AttestersNeeded({Token("snp", /*offline=*/true)}), ElementsAre("snp", "tpm"));
  EXPECT_THAT(AttestersNeeded({Token("tdx"), Token("snp"), Token("tdx")}),
              ElementsAre("tdx", "snp"));
  // A vTPM wrote it: its identity is checked and the offline copy refreshed.
  EXPECT_THAT(AttestersNeeded({Token("tdx", false, "0123abcd")}), ElementsAre("tdx", "tpm"));
}

TEST(AttestersNeededTest, AForcedKindReplacesEachTokensOwn) {
  EXPECT_THAT(AttestersNeeded({Token("tpm")}, "snp"), ElementsAre("snp"));
  EXPECT_THAT(AttestersNeeded({Token("tpm", /*offline=*/true)}, "tdx"), ElementsAre("tdx", "tpm"));
  EXPECT_THAT(AttestersNeeded({Token("snp")}, "azure"), ElementsAre("tpm"));
  EXPECT_THAT(AttestersNeeded({Token("snp")}, "auto"), ElementsAre("snp"));
  EXPECT_THAT(AttestersNeeded({Token("tpm", false, "0123abcd")}, "snp"), ElementsAre("snp", "tpm"));
}

TEST(TpmDevicePathTest, OnlyADeviceTctiHasANode) {
  EXPECT_EQ(TpmDevicePath("device:/dev/tpmrm0"), "/dev/tpmrm0");
  EXPECT_EQ(TpmDevicePath("swtpm:port=2321"), "");
  EXPECT_EQ(TpmDevicePath("mssim"), "");
}

class WaitForAttestersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/attesters-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    paths_.tpm = dir_ + "/tpmrm0";
    paths_.sev_guest = dir_ + "/sev-guest";
    paths_.tsm_report_dir = dir_ + "/tsm-report";
  }
  void TearDown() override {
    unlink(paths_.tpm.c_str());
    unlink(paths_.sev_guest.c_str());
    rmdir(paths_.tsm_report_dir.c_str());
    rmdir(dir_.c_str());
  }
  static void Touch(const std::string& path) { ASSERT_EQ(RequestNetwork(path), absl::OkStatus()); }
  absl::Status Wait(const std::vector<std::string>& needed, absl::Duration wait) {
    return WaitForAttesters(needed, paths_, wait,
                            [this](const std::string& line) { said_.push_back(line); });
  }

  std::string dir_;
  AttesterPaths paths_;
  std::vector<std::string> said_;
};

TEST_F(WaitForAttestersTest, ReturnsOnceADeviceThatComesLateIsThere) {
  std::thread udev([this] {
    absl::SleepFor(absl::Milliseconds(200));
    Touch(paths_.tpm);
  });
  const absl::Time start = absl::Now();
  EXPECT_EQ(Wait({"tpm"}, absl::Seconds(30)), absl::OkStatus());
  udev.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // not the whole bound
  EXPECT_THAT(said_, IsEmpty());
}

TEST_F(WaitForAttestersTest, NothingToAttestWithIsTpmUnavailableNamingEachDevice) {
  absl::Status s = Wait({"snp", "tpm"}, absl::Milliseconds(100));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ExitCodeOf(s), ExitCode::kTpmUnavailable);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("nothing to attest with: the SEV-SNP guest device (" + paths_.sev_guest +
                        ") and the TPM (" + paths_.tpm + ") did not appear within 100ms"));
}

TEST_F(WaitForAttestersTest, OneOfTwoIsEnoughAndTheOtherIsNamed) {
  ASSERT_EQ(mkdir(paths_.tsm_report_dir.c_str(), 0700), 0);
  EXPECT_EQ(Wait({"tdx", "tpm"}, absl::Milliseconds(100)), absl::OkStatus());
  ASSERT_EQ(said_.size(), 1u);
  EXPECT_THAT(said_[0], HasSubstr("the TPM (" + paths_.tpm + ") did not appear"));
  EXPECT_THAT(said_[0], HasSubstr("fall back to the passphrase"));
}

TEST_F(WaitForAttestersTest, ATctiWithoutADeviceNodeIsNotWaitedFor) {
  paths_.tpm.clear();
  const absl::Time start = absl::Now();
  EXPECT_EQ(Wait({"tpm"}, absl::Seconds(30)), absl::OkStatus());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(WaitForAttestersTest, RequestNetworkWritesALineToTheScriptsFifo) {
  const std::string fifo = dir_ + "/network-request";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // No reader: an error at once, not a hang.
  absl::Status s = RequestNetwork(fifo);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot open " + fifo + " (asks for the network)"));
  // The script holds it open read-write and reads lines.
  const int fd = open(fifo.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RequestNetwork(fifo), absl::OkStatus());
  char line[16] = {};
  EXPECT_EQ(read(fd, line, sizeof(line) - 1), 8);
  EXPECT_STREQ(line, "network\n");
  close(fd);
  unlink(fifo.c_str());
}

TEST_F(WaitForAttestersTest, RequestNetworkCreatesAFileOrSaysWhyNot) {
  Touch(paths_.sev_guest);
  EXPECT_EQ(access(paths_.sev_guest.c_str(), F_OK), 0);
  Touch(paths_.sev_guest);  // already there: fine
  absl::Status s = RequestNetwork(dir_ + "/missing-dir/request");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot open " + dir_ + "/missing-dir/request (asks for the network)"));
}

}  // namespace
}  // namespace kb
