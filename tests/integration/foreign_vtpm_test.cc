// kbunlock on a vTPM that is not the one a step expects, with the real binaries: keybrokerd over
// TLS, swtpm as the guest's TPM, a LUKS2 image file. `enroll --evidence azure` on a vTPM that
// is not Azure's is refused with the reason, and nothing is left behind: no key at the HCL AK's
// handle 0x81000003, no user-data NV index 0x01400002, no token or keyslot on the volume. A
// volume opened on a new vTPM (a VM whose vTPM state is not kept) says so in one line, and its
// offline copy is reported unavailable there instead of failing with a TPM error.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/guest_volume_fixture.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/evidence/azure_vtpm_source.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ForeignVtpmTest : public GuestVolumeTest {
 protected:
  void SetUp() override { SetUpGuestAllowingPcr7("vm-f", "f-disk"); }

  CommandResult EnrolWithAzureEvidence() {
    return Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--ca",
                     broker_->Path("ca.pem"), "--key-id", "f-disk", "--passphrase-file", pass_,
                     "--tcti", swtpm_->tcti(), "--evidence", "azure"});
  }

  // Whether `handle` (NV index or persistent key) exists in the swtpm.
  bool InTpm(uint32_t handle) {
    absl::StatusOr<bool> defined = EsysNvIndexDefined(swtpm_->tcti(), handle);
    EXPECT_THAT(defined, IsOk());
    return defined.value_or(true);
  }

  std::string LuksDump() { return RunCommand({"/usr/sbin/cryptsetup", "luksDump", image_}).output; }
};

TEST_F(ForeignVtpmTest, AzureEnrolmentWithoutTheHclAkCreatesNothing) {
  const std::string before = LuksDump();
  CommandResult enroll = EnrolWithAzureEvidence();
  EXPECT_EQ(enroll.exit_code, static_cast<int>(ExitCode::kUsage)) << enroll.output;
  EXPECT_THAT(enroll.output, HasSubstr("no attestation key at persistent handle 0x81000003"));
  EXPECT_THAT(enroll.output, HasSubstr("this vTPM has no Azure HCL attestation key"));
  EXPECT_FALSE(InTpm(kAzureAkHandle));
  EXPECT_FALSE(InTpm(kAzureUserDataIndex));
  EXPECT_EQ(LuksDump(), before);
}

TEST_F(ForeignVtpmTest, AzureEnrolmentWithAnAkButNoHclReportWritesNoNvIndex) {
  // A key at 0x81000003 that is not Azure's (made the way kbunlock makes its own AK).
  CommandResult ak = Kbunlock({"attestation-key", "--out", swtpm_->state_dir() + "/other.pub",
                               "--tcti", swtpm_->tcti(), "--ak-handle", "0x81000003"});
  ASSERT_EQ(ak.exit_code, 0) << ak.output;
  const std::string before = LuksDump();
  CommandResult enroll = EnrolWithAzureEvidence();
  EXPECT_NE(enroll.exit_code, 0);
  EXPECT_THAT(enroll.output, HasSubstr("this vTPM has no Azure HCL report (NV index 0x01400001)"));
  EXPECT_FALSE(InTpm(kAzureUserDataIndex));
  EXPECT_EQ(LuksDump(), before);
}

TEST_F(ForeignVtpmTest, ANewVtpmIsNamedAndTheOfflineCopyIsNotTriedOnIt) {
  const std::string policy = Pcr7Policy("vm-f", 2);
  ASSERT_EQ(Ctl({"policy", "set", "f-disk", "-"}, policy).exit_code, 0);
  CommandResult enroll =
      Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--ca",
                broker_->Path("ca.pem"), "--key-id", "f-disk", "--passphrase-file", pass_, "--tcti",
                swtpm_->tcti()});
  ASSERT_EQ(enroll.exit_code, 0) << enroll.output;
  ASSERT_THAT(enroll.output, HasSubstr("2 offline boots allowed"));
  auto fresh = SwtpmFixture::Start();  // the same VM, booted with a new vTPM
  ASSERT_THAT(fresh, IsOk());
  auto verify = [&](const std::string& tcti) {
    return Kbunlock({"rekey", "--device", image_, "--ca", broker_->Path("ca.pem"), "--tcti", tcti,
                     "--timeout", "5"});
  };
  CommandResult other = verify((*fresh)->tcti());
  EXPECT_EQ(other.exit_code, static_cast<int>(ExitCode::kDenied)) << other.output;
  EXPECT_THAT(other.output, HasSubstr("is not the one the volume was enrolled on"));

  broker_->Stop();
  other = verify((*fresh)->tcti());
  EXPECT_EQ(other.exit_code, static_cast<int>(ExitCode::kBrokerUnreachable)) << other.output;
  EXPECT_THAT(other.output, HasSubstr("offline copy: unavailable on this vTPM"));
  EXPECT_THAT(other.output, Not(HasSubstr("integrity")));
  CommandResult same = verify(swtpm_->tcti());  // the enrolling vTPM still opens it offline
  ASSERT_THAT(broker_->Resume(), IsOk());
  EXPECT_EQ(same.exit_code, 0) << same.output;
  EXPECT_THAT(same.output, Not(HasSubstr("is not the one")));
  EXPECT_THAT(same.output, HasSubstr("1 offline boots left"));
}

}  // namespace
}  // namespace kb
