#ifndef KB_TESTS_INTEGRATION_GUEST_VOLUME_FIXTURE_H_
#define KB_TESTS_INTEGRATION_GUEST_VOLUME_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {

// A keybrokerd of the test's own, swtpm as the guest's TPM and a LUKS2 image file with a
// passphrase; kbunlock and keybrokerctl run as the real binaries.
class GuestVolumeTest : public ::testing::Test {
 protected:
  // The broker, the TPM and the volume; the TPM's AK registered as `machine`, key `key_id`
  // created, and `policy` (JSON) set on it.
  void SetUpGuest(const std::string& machine, const std::string& key_id,
                  const std::string& policy) {
    auto broker = BrokerProcess::Start();
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
    auto swtpm = SwtpmFixture::Start();
    ASSERT_THAT(swtpm, IsOk());
    swtpm_ = std::move(*swtpm);
    image_ = swtpm_->state_dir() + "/disk.img";
    pass_ = swtpm_->state_dir() + "/pass";
    ASSERT_THAT(MakeLuks2Image(image_, pass_, "32M"), IsOk());
    const std::string ak = swtpm_->state_dir() + "/ak.pub";
    CommandResult r = Kbunlock({"attestation-key", "--out", ak, "--tcti", swtpm_->tcti()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(Ctl({"ak", "register", "--machine", machine, "--ak-public", ak}).exit_code, 0);
    ASSERT_EQ(Ctl({"key", "create", key_id}).exit_code, 0);
    CommandResult set = Ctl({"policy", "set", key_id, "-"}, policy);
    ASSERT_EQ(set.exit_code, 0) << set.output;
  }

  // A policy that allows `machine` with PCR 7 all zeros (swtpm's), granting `offline_boots`.
  static std::string Pcr7Policy(const std::string& machine, int offline_boots = 0) {
    return R"({"allow":[{"name":"boot","machines":[")" + machine + R"("],"offline_boots":)" +
           std::to_string(offline_boots) + R"(,"pcrs":[{"index":7,"allowed":[")" +
           std::string(64, '0') + R"("]}]}]})";
  }
  // SetUpGuest with Pcr7Policy(machine).
  void SetUpGuestAllowingPcr7(const std::string& machine, const std::string& key_id) {
    SetUpGuest(machine, key_id, Pcr7Policy(machine));
  }

  CommandResult Kbunlock(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("kbunlock"));
    return RunCommand(args);
  }
  // keybrokerctl as the admin operator.
  CommandResult Ctl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = KeybrokerctlArgv(*broker_, "operator");
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, stdin_data);
  }

  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<SwtpmFixture> swtpm_;
  std::string image_, pass_;
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_GUEST_VOLUME_FIXTURE_H_
