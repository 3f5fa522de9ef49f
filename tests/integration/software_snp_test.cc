// The whole of kbunlock with SEV-SNP evidence on a machine without SEV-SNP or a TPM: the
// kbunlock-software-snp binary (SEV-SNP firmware in software, tests/fakes/software_sev_guest.h)
// against a real keybrokerd that trusts the test AMD chain (amd_chain_file), over LUKS2 image
// files. The broker's SEV-SNP verifier and policy run as for a real guest.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

class SoftwareSnpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-softsnp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fw_ = dir_ + "/fw";
    CommandResult made = RunCommand({SourcePath("tests/fakes/make_fake_snp.sh"), fw_});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    measurement_ = Trimmed(fw_ + "/measurement.hex");
    chip_ = Trimmed(fw_ + "/chip_id.hex");
    image_ = dir_ + "/disk.img";
    pass_ = dir_ + "/pass";
    ASSERT_THAT(MakeLuks2Image(image_, pass_, "20M"), IsOk());
  }
  void TearDown() override {
    broker_.reset();
    (void)!std::system(("rm -rf " + dir_).c_str());
  }

  static std::string Trimmed(const std::string& path) {
    auto text = ReadFile(path);
    EXPECT_THAT(text, IsOk());
    return text.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*text)) : "";
  }

  // A broker that trusts the test AMD chain (or, `test_roots` false, only AMD's own), with
  // key "snp-root" released to this chip when its MEASUREMENT is `measurement`.
  void StartBroker(bool test_roots, const std::string& measurement) {
    BrokerProcess::Options options;
    if (test_roots)
      options.extra_config = absl::StrCat(R"("amd_chain_file":")", fw_, "/amd_chain.pem\"");
    auto broker = BrokerProcess::Start(options);
    ASSERT_THAT(broker, IsOk());
    broker_ = *std::move(broker);
    CommandResult r = Ctl({"key", "create", "snp-root"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    SetMeasurement(measurement);
  }
  void SetMeasurement(const std::string& measurement) {
    const std::string policy = absl::StrCat(
        R"({"allow":[{"name":"snp-boot","evidence_types":["snp"],"machines":["snp-chip:)", chip_,
        R"("],"snp":{"measurements":[")", measurement, R"("]}}]})");
    CommandResult r = Ctl({"policy", "set", "snp-root", "-"}, policy);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  CommandResult Ctl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = KeybrokerctlArgv(*broker_, "operator");
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, stdin_data);
  }

  // kbunlock-software-snp with no TPM (a TCTI that reaches none).
  CommandResult Kbunlock(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("kbunlock-software-snp"));
    for (const std::string& a :
         {std::string("--tcti"), std::string("device:/nonexistent/tpmrm0"), std::string("--ca"),
          broker_->Path("ca.pem"), std::string("--sev-guest"), fw_}) {
      args.push_back(a);
    }
    return RunCommand(args);
  }
  CommandResult Enroll() {
    return Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(),
                     "--key-id", "snp-root", "--passphrase-file", pass_, "--evidence", "snp"});
  }
  CommandResult UnlockTest() { return Kbunlock({"unlock", "--device", image_, "--test"}); }

  static int Code(ExitCode c) { return static_cast<int>(c); }

  std::unique_ptr<BrokerProcess> broker_;
  std::string dir_, fw_, measurement_, chip_, image_, pass_;
};

TEST_F(SoftwareSnpTest, EnrolsAndUnlocksWithSnpEvidenceAndNoTpm) {
  StartBroker(/*test_roots=*/true, measurement_);
  CommandResult r = Enroll();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("attesting with snp evidence only"));
  EXPECT_THAT(r.output,
              HasSubstr("confirmed to the broker: enrolled with key 'snp-root' version 1"));

  r = Kbunlock({"status", "--device", image_});
  EXPECT_THAT(r.output, HasSubstr("evidence snp"));

  r = UnlockTest();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("opens keyslot"));

  r = Ctl({"audit", "list", "--key-id", "snp-root"});
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("machine:snp-chip:", chip_)));
}

TEST_F(SoftwareSnpTest, AnotherMeasurementIsDeniedByPolicy) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(Enroll().exit_code, 0);
  SetMeasurement(std::string(96, 'a'));
  CommandResult r = UnlockTest();
  EXPECT_EQ(r.exit_code, Code(ExitCode::kDenied)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("rule 'snp-boot': snp measurement"));
}

TEST_F(SoftwareSnpTest, ABrokerWithOnlyAmdsRootsRejectsTheTestChip) {
  StartBroker(/*test_roots=*/false, measurement_);
  CommandResult r = Enroll();
  EXPECT_EQ(r.exit_code, Code(ExitCode::kDenied)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'cert_chain' failed"));
  // Nothing was enrolled.
  r = Kbunlock({"status", "--device", image_});
  EXPECT_THAT(r.output, HasSubstr("keybroker tokens: none"));
}

TEST_F(SoftwareSnpTest, AMissingFirmwareIsNamed) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(std::remove((fw_ + "/vcek.key").c_str()), 0);
  CommandResult r = Enroll();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr(fw_ + "/vcek.key"));
}

// The boot script brings the network up while kbunlock opens the volume and the TEE; kbunlock
// reaches the broker only once the script's ready file exists.
TEST_F(SoftwareSnpTest, UnlockReachesTheBrokerOnceTheNetworkReadyFileExists) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(Enroll().exit_code, 0);
  const std::string ready = dir_ + "/network-ready";
  std::thread network([&] {
    absl::SleepFor(absl::Seconds(1));
    EXPECT_THAT(WriteFileAtomic(ready, "", 0644), IsOk());
  });
  CommandResult r = Kbunlock(
      {"unlock", "--device", image_, "--test", "--network-ready-file", ready, "--deadline", "60"});
  network.join();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("waiting for the network (", ready, ")")));
  // It watched the file: it went on when the file appeared, long before its limit (50 s).
  EXPECT_THAT(r.output, ContainsRegex("the network is ready after [0-2]\\.[0-9][0-9] s"));
  EXPECT_THAT(r.output, HasSubstr("opens keyslot"));

  r = Kbunlock({"unlock", "--device", image_, "--test", "--network-ready-file", ready});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("waiting for the network")));
}

TEST_F(SoftwareSnpTest, UnlockSaysSoAndStillTriesWhenTheNetworkReadyFileNeverAppears) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(Enroll().exit_code, 0);
  const std::string never = dir_ + "/never-ready";
  // A 10 s deadline keeps 2.5 s for the brokers, so the wait ends after 7.5 s.
  CommandResult r = Kbunlock(
      {"unlock", "--device", image_, "--test", "--network-ready-file", never, "--deadline", "10"});
  EXPECT_THAT(r.output, HasSubstr(never + " did not appear within "));
  EXPECT_THAT(r.output, ContainsRegex("within [67]\\.[0-9][0-9] s; trying the brokers anyway"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("opens keyslot"));
}

// The boot script's handshake (docs/boot.md): kbunlock reads the tokens, waits for the device
// they attest with, asks for the network (the request file), and reaches the broker once the
// script says the network is ready.
TEST_F(SoftwareSnpTest, UnlockAsksForTheNetworkOnceItHasATokenAndADeviceToAttestWith) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(Enroll().exit_code, 0);
  const std::string request = dir_ + "/network-request", ready = dir_ + "/network-ready";
  bool requested = false;
  std::thread script([&] {  // the script's side: the network once asked for
    const absl::Time limit = absl::Now() + absl::Seconds(30);
    while (!(requested = access(request.c_str(), F_OK) == 0) && absl::Now() < limit) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (requested) {
      EXPECT_THAT(WriteFileAtomic(ready, "", 0644), IsOk());
    }
  });
  CommandResult r = Kbunlock({"unlock", "--device", image_, "--test", "--attester-wait", "5",
                              "--network-request-file", request, "--network-ready-file", ready,
                              "--deadline", "60"});
  script.join();
  EXPECT_TRUE(requested);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("opens keyslot"));
}

// No token (or no LUKS2 at all): exit 6 at once, silently, without waiting for a device.
TEST_F(SoftwareSnpTest, AVolumeWithoutATokenAsksForNothingAndSaysNothing) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(std::rename(fw_.c_str(), (fw_ + ".gone").c_str()), 0);  // nothing to wait for
  const std::string request = dir_ + "/network-request", plain = dir_ + "/plain.img";
  ASSERT_THAT(WriteFileAtomic(plain, std::string(1 << 20, 'x'), 0600), IsOk());
  for (const std::string& device : {image_, plain}) {
    const absl::Time start = absl::Now();
    CommandResult r = Kbunlock({"unlock", "--device", device, "--name", "root", "--attester-wait",
                                "30", "--network-request-file", request, "--quiet-if-no-token"});
    EXPECT_EQ(r.exit_code, Code(ExitCode::kNoToken)) << device << ": " << r.output;
    EXPECT_EQ(r.output, "") << device;
    EXPECT_LT(absl::Now() - start, absl::Seconds(20)) << device << ": it waited for a device";
    EXPECT_NE(access(request.c_str(), F_OK), 0) << device;
  }
  // Nor does a missing CA matter to a volume without a token (a swap volume in crypttab).
  CommandResult r = RunCommand({BinaryPath("kbunlock-software-snp"), "unlock", "--device", plain,
                                "--name", "swap", "--ca", dir_ + "/no-such-ca.pem",
                                "--network-request-file", request, "--quiet-if-no-token"});
  EXPECT_EQ(r.exit_code, Code(ExitCode::kNoToken)) << r.output;
  EXPECT_EQ(r.output, "");
}

TEST_F(SoftwareSnpTest, NoDeviceToAttestWithAsksForNoNetworkAndNamesTheDevice) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(Enroll().exit_code, 0);
  ASSERT_EQ(std::rename(fw_.c_str(), (fw_ + ".gone").c_str()), 0);  // no SEV-SNP device
  const std::string request = dir_ + "/network-request";
  CommandResult r = Kbunlock({"unlock", "--device", image_, "--test", "--attester-wait", "1",
                              "--network-request-file", request});
  EXPECT_EQ(r.exit_code, Code(ExitCode::kTpmUnavailable)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("nothing to attest with: the SEV-SNP guest device (" + fw_ +
                                  ") did not appear within 1s"));
  EXPECT_NE(access(request.c_str(), F_OK), 0);
  // The device there, the same command goes on.
  ASSERT_EQ(std::rename((fw_ + ".gone").c_str(), fw_.c_str()), 0);
  r = Kbunlock({"unlock", "--device", image_, "--test", "--attester-wait", "1",
                "--network-request-file", request});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(access(request.c_str(), F_OK), 0);
}

// An --evidence kind kbunlock does not know is a usage error before the wait, not after a wait
// for devices chosen without it.
TEST_F(SoftwareSnpTest, AnUnknownEvidenceKindIsAUsageErrorBeforeTheWait) {
  StartBroker(/*test_roots=*/true, measurement_);
  ASSERT_EQ(Enroll().exit_code, 0);
  ASSERT_EQ(std::rename(fw_.c_str(), (fw_ + ".gone").c_str()), 0);  // nothing would appear
  const std::string request = dir_ + "/network-request";
  const absl::Time start = absl::Now();
  CommandResult r = Kbunlock({"unlock", "--device", image_, "--test", "--evidence", "sev",
                              "--attester-wait", "30", "--network-request-file", request});
  EXPECT_EQ(r.exit_code, Code(ExitCode::kUsage)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unknown evidence kind 'sev' (auto, tpm, azure, snp, tdx)"));
  EXPECT_THAT(r.output, Not(HasSubstr("did not appear")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(25));  // not the 30 s wait
  EXPECT_NE(access(request.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace kb
