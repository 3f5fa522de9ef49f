// The libcryptsetup token plugin (libcryptsetup-token-keybroker.so) loaded by the real
// cryptsetup 2.6 (plugin_cryptsetup.h): keybrokerd over TLS, swtpm as the guest's TPM, a LUKS2
// image file enrolled by kbunlock. Needs root.
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/guest_volume_fixture.h"
#include "tests/integration/plugin_cryptsetup.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TokenPluginTest : public GuestVolumeTest {
 protected:
  void SetUp() override {
    if (std::string why; !PluginCryptsetup::PluginLoads(&why)) GTEST_SKIP() << why;
    SetUpGuestAllowingPcr7("vm-p", "p-disk");
    if (HasFatalFailure()) return;
    auto plugin = PluginCryptsetup::Create(swtpm_->state_dir());
    ASSERT_THAT(plugin, IsOk());
    plugin_ = std::move(*plugin);
    WriteSettings(10);
  }

  void WriteSettings(int timeout_seconds) {
    plugin_->WriteSettings(broker_->Path("ca.pem"), swtpm_->tcti(), timeout_seconds);
  }

  CommandResult Enrol() {
    return Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--ca",
                     broker_->Path("ca.pem"), "--key-id", "p-disk", "--passphrase-file", pass_,
                     "--tcti", swtpm_->tcti()});
  }

  CommandResult Cryptsetup(const std::string& args) { return plugin_->Run(args); }
  CommandResult OpenWithToken() { return plugin_->OpenWithToken(image_); }
  // OpenWithToken, and how long it took.
  CommandResult TimedOpenWithToken(absl::Duration* took) {
    const absl::Time start = absl::Now();
    CommandResult r = OpenWithToken();
    *took = absl::Now() - start;
    return r;
  }

  std::unique_ptr<PluginCryptsetup> plugin_;
};

TEST_F(TokenPluginTest, CryptsetupOpensTheVolumeThroughTheBroker) {
  ASSERT_EQ(Enrol().exit_code, 0);
  CommandResult r = OpenWithToken();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("keybroker: received key 'p-disk' version 1 from"));
  EXPECT_THAT(r.output, HasSubstr("Key slot 1 unlocked."));
  // The broker audited the release to this machine.
  CommandResult audit = Ctl({"audit", "list", "--key-id", "p-disk", "--limit", "1"});
  EXPECT_THAT(audit.output, HasSubstr("machine:vm-p"));
  EXPECT_THAT(audit.output, HasSubstr("allow"));
}

TEST_F(TokenPluginTest, ADenialIsSaidAndNothingOpens) {
  ASSERT_EQ(Enrol().exit_code, 0);
  ASSERT_EQ(Ctl({"machine", "deny", "vm-p", "--reason", "decommissioned"}).exit_code, 0);
  CommandResult r = OpenWithToken();
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("keybroker: token 0: denied by broker"));
  EXPECT_THAT(r.output, HasSubstr("machine denied by operator"));
  EXPECT_THAT(r.output, Not(HasSubstr("unlocked")));
}

TEST_F(TokenPluginTest, ABrokerThatIsDownFailsWithinTheBound) {
  ASSERT_EQ(Enrol().exit_code, 0);
  WriteSettings(4);
  broker_->Stop();
  absl::Duration took;
  CommandResult r = TimedOpenWithToken(&took);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("requires additional missing resource"));
  EXPECT_THAT(r.output, HasSubstr("broker unreachable"));
  EXPECT_LT(took, absl::Seconds(20)) << r.output;  // bound 4 s; generous for a loaded machine
}

TEST_F(TokenPluginTest, NoTpmFailsFastWithAReason) {
  ASSERT_EQ(Enrol().exit_code, 0);
  // A TCTI where no TPM listens.
  plugin_->WriteSettings(broker_->Path("ca.pem"), "swtpm:host=127.0.0.1,port=1", 30);
  absl::Duration took;
  CommandResult r = TimedOpenWithToken(&took);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("keybroker: token 0: TPM unavailable"));
  EXPECT_THAT(r.output, HasSubstr("requires additional missing resource"));
  EXPECT_THAT(r.output, Not(HasSubstr("unlocked")));
  EXPECT_LT(took, absl::Seconds(8)) << r.output;  // bound 30 s: no broker round is tried
}

// The token pins one CA; TLS would trust every certificate of the settings' CA file, so one
// with the enrolled CA and another is refused before any broker is asked.
TEST_F(TokenPluginTest, ACaFileWithASecondCertificateIsRefused) {
  ASSERT_EQ(Enrol().exit_code, 0);
  auto ca = ReadFile(broker_->Path("ca.pem"));
  auto other = ReadFile(broker_->Path("other-ca.pem"));
  ASSERT_THAT(ca, IsOk());
  ASSERT_THAT(other, IsOk());
  const std::string bundle = broker_->Path("bundle.pem");
  ASSERT_THAT(WriteFileAtomic(bundle, *ca + *other, 0644), IsOk());
  plugin_->WriteSettings(bundle, swtpm_->tcti(), 10);
  const std::string audited = Ctl({"audit", "list", "--key-id", "p-disk"}).output;
  CommandResult r = OpenWithToken();
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("keybroker: token 0: usage or configuration error: broker CA: "
                                  "the CA file holds 2 certificates"));
  EXPECT_THAT(r.output, Not(HasSubstr("unlocked")));
  EXPECT_EQ(Ctl({"audit", "list", "--key-id", "p-disk"}).output, audited);  // no broker asked
}

TEST_F(TokenPluginTest, ABrokerThatIsDownLeavesTheOfflineCopy) {
  CommandResult set = Ctl({"policy", "set", "p-disk", "-"}, Pcr7Policy("vm-p", 2));
  ASSERT_EQ(set.exit_code, 0) << set.output;
  CommandResult enrol = Enrol();  // seals the offline copy, as every online unlock does
  ASSERT_EQ(enrol.exit_code, 0) << enrol.output;
  broker_->Stop();
  CommandResult r = OpenWithToken();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("using the vTPM-sealed copy; 1 offline boots left"));
  EXPECT_THAT(r.output, HasSubstr("Key slot 1 unlocked."));
  r = Cryptsetup(absl::StrCat("luksDump '", image_, "'"));
  EXPECT_THAT(r.output, HasSubstr("Offline:    sealed copy present"));
}

// kbunlock never loads the plugin (it carries its own copy of messages kbunlock registered:
// loading it into kbunlock aborts the process).
TEST_F(TokenPluginTest, KbunlockWorksWhereThePluginIsInstalled) {
  ASSERT_EQ(Enrol().exit_code, 0);
  CommandResult r = plugin_->RunWherePluginIsInstalled(
      absl::StrCat("'", BinaryPath("kbunlock"), "' status --device '", image_, "' 2>&1"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("key 'p-disk' version 1"));
}

TEST_F(TokenPluginTest, LuksDumpShowsTheTokenWithoutSecrets) {
  ASSERT_EQ(Enrol().exit_code, 0);
  CommandResult r = Cryptsetup(absl::StrCat("luksDump '", image_, "'"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("keybroker"));
  EXPECT_THAT(r.output, HasSubstr("Key:        p-disk version 1"));
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("Brokers:    ", broker_->release_endpoint())));
  EXPECT_THAT(r.output, HasSubstr("Offline:    none"));
}

TEST_F(TokenPluginTest, AMalformedTokenIsRefusedOnImport) {
  const std::string bad = swtpm_->state_dir() + "/bad.json";
  std::ofstream(bad) << R"({"type":"keybroker","keyslots":["0"],"key_id":"x"})";
  CommandResult r =
      Cryptsetup(absl::StrCat("token import -v --json-file '", bad, "' '", image_, "'"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("invalid keybroker token"));
  // Nothing was added.
  r = Cryptsetup(absl::StrCat("token export --token-id 0 '", image_, "'"));
  EXPECT_NE(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace kb
