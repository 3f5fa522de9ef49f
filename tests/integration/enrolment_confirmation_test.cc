// The guest's attested enrolment confirmation end to end: keybrokerd over TLS, swtpm as the
// guest's TPM, kbunlock enrolling and re-enrolling a LUKS2 image file after a rotation, and
// keybrokerctl reading the rotation status; `kbunlock unlock --test` changing none of it.
// Forged confirmations come from a software TPM.
#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/grpc/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/guest_volume_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class EnrolmentConfirmationTest : public GuestVolumeTest {
 protected:
  void SetUp() override { SetUpGuestAllowingPcr7("vm-c", "c-disk"); }
};

TEST_F(EnrolmentConfirmationTest, RotateThenReEnrolShowsTheMachineConfirmedOnTheNewVersion) {
  CommandResult enroll =
      Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--ca",
                broker_->Path("ca.pem"), "--key-id", "c-disk", "--passphrase-file", pass_, "--tcti",
                swtpm_->tcti()});
  ASSERT_EQ(enroll.exit_code, 0) << enroll.output;
  EXPECT_THAT(enroll.output, HasSubstr("confirmed to the broker: enrolled with key 'c-disk' "
                                       "version 1"));
  CommandResult status = Ctl({"key", "rotation-status", "c-disk"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("vm-c     1        confirmed  yes"));

  ASSERT_EQ(Ctl({"key", "rotate", "c-disk"}).exit_code, 0);
  CommandResult unlock = Kbunlock({"rekey", "--device", image_, "--ca", broker_->Path("ca.pem"),
                                   "--tcti", swtpm_->tcti(), "--timeout", "5"});
  ASSERT_EQ(unlock.exit_code, 0) << unlock.output;
  EXPECT_THAT(unlock.output, HasSubstr("re-enrolling from version 1 to 2"));
  EXPECT_THAT(unlock.output, HasSubstr("confirmed to the broker: enrolled with key 'c-disk' "
                                       "version 2"));
  // The LUKS2 token records the confirmation (the old token was removed).
  std::string tokens;
  for (const char* id : {"0", "1", "2"}) {
    CommandResult t = RunCommand({"/sbin/cryptsetup", "token", "export", "--token-id", id, image_});
    if (t.exit_code == 0) tokens += t.output;
  }
  EXPECT_THAT(tokens, HasSubstr("\"key_version\":2"));
  EXPECT_THAT(tokens, HasSubstr("\"confirmed\":true"));
  EXPECT_THAT(tokens, ::testing::Not(HasSubstr("\"key_version\":1")));
  // kbunlock status shows the same.
  CommandResult guest_status = Kbunlock({"status", "--device", image_});
  EXPECT_EQ(guest_status.exit_code, 0) << guest_status.output;
  EXPECT_THAT(guest_status.output, HasSubstr("key 'c-disk' version 2"));
  EXPECT_THAT(guest_status.output,
              HasSubstr("AK trust registered, enrolment confirmed to the broker"));
  status = Ctl({"key", "rotation-status", "c-disk"});
  EXPECT_THAT(status.output, HasSubstr("active version 2"));
  EXPECT_THAT(status.output, HasSubstr("vm-c     2        confirmed  yes"));
  CommandResult json = Ctl({"--json", "key", "rotation-status", "c-disk"});
  EXPECT_THAT(json.output, HasSubstr("\"source\":\"confirmed\""));
  EXPECT_THAT(json.output, HasSubstr("\"version\":2"));
  // Nobody uses version 1 any more: it retires without --force.
  CommandResult retire = Ctl({"key", "retire", "c-disk", "1"});
  EXPECT_EQ(retire.exit_code, 0) << retire.output;
  CommandResult audit = Ctl({"audit", "list", "--key-id", "c-disk", "--machine", "vm-c"});
  EXPECT_THAT(audit.output, HasSubstr("confirm_enrolment"));
}

// unlock --test is a dry run: after a rotation, with an offline copy sealed and the broker up
// or down, it changes no token, keyslot, offline boot (the TPM NV counter) or broker state;
// the broker audits its release as release_test.
TEST_F(EnrolmentConfirmationTest, UnlockTestChangesNothing) {
  const std::string policy = Pcr7Policy("vm-c", 2);
  ASSERT_EQ(Ctl({"policy", "set", "c-disk", "-"}, policy).exit_code, 0);
  ASSERT_EQ(Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--ca",
                      broker_->Path("ca.pem"), "--key-id", "c-disk", "--passphrase-file", pass_,
                      "--tcti", swtpm_->tcti()})
                .exit_code,
            0);
  const std::vector<std::string> verify_only = {
      "--device", image_,         "--ca",      broker_->Path("ca.pem"),
      "--tcti",   swtpm_->tcti(), "--timeout", "5"};
  auto run = [&](std::vector<std::string> head) {
    head.insert(head.end(), verify_only.begin(), verify_only.end());
    return Kbunlock(head);
  };
  CommandResult sealed = run({"rekey"});  // an online verify-only run seals the offline copy
  ASSERT_EQ(sealed.exit_code, 0) << sealed.output;
  ASSERT_THAT(sealed.output, HasSubstr("2 offline boots allowed"));
  ASSERT_EQ(Ctl({"key", "rotate", "c-disk"}).exit_code, 0);
  auto snapshot = [&] {
    return RunCommand({"/sbin/cryptsetup", "luksDump", "--dump-json-metadata", image_}).output +
           Ctl({"key", "rotation-status", "c-disk"}).output + Ctl({"offline", "list"}).output;
  };
  const std::string before = snapshot();
  CommandResult test = run({"unlock", "--test"});
  ASSERT_EQ(test.exit_code, 0) << test.output;
  EXPECT_THAT(test.output, HasSubstr("an unlock would re-enrol to it (not done)"));
  EXPECT_THAT(test.output, Not(HasSubstr("re-enrolling")));
  EXPECT_EQ(snapshot(), before);
  CommandResult audit =
      Ctl({"audit", "list", "--key-id", "c-disk", "--machine", "vm-c", "--limit", "1"});
  EXPECT_THAT(audit.output, HasSubstr("release_test"));
  // The broker down: the offline copy is not used, so no offline boot is spent.
  broker_->Stop();
  test = run({"unlock", "--test"});
  EXPECT_EQ(test.exit_code, 3) << test.output;
  EXPECT_THAT(test.output, HasSubstr("not tried with --test"));
  CommandResult offline = run({"rekey"});
  ASSERT_THAT(broker_->Resume(), IsOk());
  EXPECT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_THAT(offline.output, HasSubstr("1 offline boots left"));
  EXPECT_EQ(snapshot(), before);
}

TEST_F(EnrolmentConfirmationTest, ReleaseBindingAndReplayedChallengeAreRejected) {
  auto tpm = *SoftwareTpm::Create();
  const std::string ak = broker_->Path("soft.ak");
  ASSERT_THAT(WriteFileAtomic(ak, *tpm->AttestationKeyPublic()), IsOk());
  ASSERT_EQ(Ctl({"ak", "register", "--machine", "soft-vm", "--ak-public", ak}).exit_code, 0);
  auto stub = broker_->ReleaseStub();
  auto challenge = [&]() {
    v1::GetChallengeRequest request;
    request.set_key_id("c-disk");
    v1::GetChallengeResponse response;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub->GetChallenge(&ctx, request, &response), IsOk());
    return response;
  };
  auto confirm = [&](const v1::ConfirmEnrolmentRequest& request) {
    v1::ConfirmEnrolmentResponse response;
    grpc::ClientContext ctx;
    return FromGrpcStatus(stub->ConfirmEnrolment(&ctx, request, &response));
  };
  // Evidence made for a release (binding "kb-release-v1") is no confirmation.
  v1::GetChallengeResponse c = challenge();
  v1::ReleaseKeyRequest release = *BuildRequest(*tpm, c.challenge_id(), c.nonce(), "c-disk");
  v1::ConfirmEnrolmentRequest forged;
  forged.set_challenge_id(c.challenge_id());
  forged.set_key_id("c-disk");
  forged.set_version(1);
  *forged.mutable_evidence() = release.evidence();
  *forged.mutable_transfer_key() = release.transfer_key();
  absl::Status s = confirm(forged);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("binding"));
  // A genuine confirmation counts once; its replay is refused.
  c = challenge();
  v1::ConfirmEnrolmentRequest genuine =
      *BuildConfirmation(*tpm, c.challenge_id(), c.nonce(), "c-disk", 1);
  ASSERT_THAT(confirm(genuine), IsOk());
  s = confirm(genuine);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  CommandResult status = Ctl({"key", "rotation-status", "c-disk"});
  EXPECT_THAT(status.output, HasSubstr("soft-vm  1        confirmed"));
}

}  // namespace
}  // namespace kb
