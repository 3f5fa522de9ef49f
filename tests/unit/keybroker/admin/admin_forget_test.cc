// Cleaning up after machines that are gone: RemoveAttestationKey and ForgetMachine (admin only,
// audited) over the SQLite stores, with a software TPM as the machine.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AdminForgetTest : public BrokerFixture {
 protected:
  const AdminCaller kAdmin{"CN=op", "op"};
  const AdminCaller kOperator{"CN=olivia", "olivia"};

  // web-1 enrolled on version 1 of "disk", which was then rotated to version 2.
  void MachineOnVersionOne() {
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
    ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
    v1::RotateKeyRequest rotate;
    rotate.set_key_id("disk");
    ASSERT_THAT(admin_.keys->RotateKey(rotate, kAdmin), IsOk());
  }
  absl::Status Retire(uint32_t version) {
    v1::RetireKeyVersionRequest r;
    r.set_key_id("disk");
    r.set_version(version);
    return admin_.keys->RetireKeyVersion(r, kAdmin).status();
  }
  absl::StatusOr<v1::ForgetMachineResponse> Forget(const std::string& machine,
                                                   const AdminCaller& caller) {
    v1::ForgetMachineRequest r;
    r.set_machine(machine);
    return admin_.machines->ForgetMachine(r, caller);
  }
  int MachinesInRotationStatus() {
    v1::GetRotationStatusRequest r;
    r.set_key_id("disk");
    return admin_.keys->GetRotationStatus(r, kAdmin)->machines_size();
  }
  AuditRecord LastAudit() { return (*audit_->List(AuditQuery{.limit = 1}))[0]; }
};

TEST_F(AdminForgetTest, AForgottenMachineStopsBlockingRetirementUntilItReleasesAgain) {
  MachineOnVersionOne();
  EXPECT_THAT(Retire(1), StatusIs(absl::StatusCode::kFailedPrecondition));
  clock_.Advance(absl::Seconds(1));

  EXPECT_THAT(Forget("web-1", kOperator), StatusIs(absl::StatusCode::kPermissionDenied));
  auto forgot = Forget("web-1", kAdmin);
  ASSERT_THAT(forgot, IsOk());
  EXPECT_EQ(forgot->attestation_keys_removed(), 1);
  EXPECT_EQ(LastAudit().action, "forget_machine");
  EXPECT_THAT(LastAudit().reason, HasSubstr("forgot machine web-1: 1 AK(s)"));
  EXPECT_TRUE(admin_.machines->ListAttestationKeys({}, kAdmin)->keys().empty());
  EXPECT_EQ(MachinesInRotationStatus(), 0);
  EXPECT_THAT(Release(*tpm_, "disk"), Not(IsOk()));  // its AK is no longer trusted
  EXPECT_THAT(Retire(1), IsOk());

  // Registered again and released to after it was forgotten: it counts again.
  clock_.Advance(absl::Seconds(1));
  RegisterAk(*tpm_, "web-1");
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  EXPECT_EQ(MachinesInRotationStatus(), 1);
  EXPECT_THAT(Retire(2), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(AdminForgetTest, ForgettingLiftsNoDenial) {
  v1::DenyMachineRequest deny;
  deny.set_machine("web-1");
  ASSERT_THAT(admin_.machines->DenyMachine(deny, kAdmin), IsOk());
  ASSERT_THAT(Forget("web-1", kAdmin), IsOk());
  EXPECT_EQ(admin_.machines->ListDeniedMachines({}, kAdmin)->machines_size(), 1);
  EXPECT_THAT(Forget("bad name", kAdmin), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AdminForgetTest, RemovesOneAttestationKey) {
  RegisterAk(*tpm_, "web-1");
  const std::string name = admin_.machines->ListAttestationKeys({}, kAdmin)->keys(0).ak_name();
  v1::RemoveAttestationKeyRequest r;
  r.set_ak_name(name);
  EXPECT_THAT(admin_.machines->RemoveAttestationKey(r, kOperator),
              StatusIs(absl::StatusCode::kPermissionDenied));
  auto removed = admin_.machines->RemoveAttestationKey(r, kAdmin);
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->machine(), "web-1");
  EXPECT_EQ(LastAudit().action, "remove_ak");
  EXPECT_THAT(LastAudit().reason, HasSubstr("machine web-1 AK "));
  EXPECT_THAT(admin_.machines->RemoveAttestationKey(r, kAdmin),
              StatusIs(absl::StatusCode::kNotFound));
  r.set_ak_name("x");
  EXPECT_THAT(admin_.machines->RemoveAttestationKey(r, kAdmin),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kb
