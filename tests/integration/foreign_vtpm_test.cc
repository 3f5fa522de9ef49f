// kbunlock on a vTPM that is not the one a step expects, with the real binaries: keybrokerd over
// TLS, swtpm as the guest's TPM, a LUKS2 image file. `enroll --evidence azure` on a vTPM that
// is not Azure's is refused with the reason, and nothing is left behind: no key at the HCL AK's
// handle 0x81000003, no user-data NV index 0x01400002, no token or keyslot on the volume.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/guest_volume_fixture.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/evidence/azure_vtpm_source.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace kb
