// KeyRelease.ConfirmEnrolment, its effect on rotation status and retirement, and the offline
// grants that releases record (ListOfflineGrants).
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class EnrolmentConfirmationTest : public BrokerFixture {
 protected:
  const AdminCaller kOperator{"CN=olivia", "olivia"};
  const AdminCaller kAuditor{"CN=auditor-ann", "auditor-ann"};

  void SetUp() override {
    BrokerFixture::SetUp();
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
  }
  v1::GetChallengeResponse Challenge(const std::string& key_id = "disk") {
    v1::GetChallengeRequest r;
    r.set_key_id(key_id);
    return *release_->GetChallenge(r);
  }
  v1::ConfirmEnrolmentRequest Confirmation(uint32_t version, Tpm* tpm = nullptr) {
    v1::GetChallengeResponse c = Challenge();
    auto r = BuildConfirmation(tpm != nullptr ? *tpm : *tpm_, c.challenge_id(), c.nonce(), "disk",
                               version);
    EXPECT_THAT(r, IsOk());
    return *r;
  }
  absl::StatusOr<v1::ConfirmEnrolmentResponse> Confirm(uint32_t version) {
    return release_->ConfirmEnrolment(Confirmation(version), "peer");
  }
  void Rotate() {
    v1::RotateKeyRequest r;
    r.set_key_id("disk");
    ASSERT_THAT(admin_.keys->RotateKey(r, kOperator), IsOk());
  }
  v1::GetRotationStatusResponse Status() {
    v1::GetRotationStatusRequest r;
    r.set_key_id("disk");
    auto s = admin_.keys->GetRotationStatus(r, kAuditor);
    EXPECT_THAT(s, IsOk());
    return *s;
  }
  absl::StatusOr<v1::KeyMetadata> Retire(uint32_t version, bool force) {
    v1::RetireKeyVersionRequest r;
    r.set_key_id("disk");
    r.set_version(version);
    r.set_force(force);
    return admin_.keys->RetireKeyVersion(r, kOperator);
  }
  AuditRecord LastAudit() { return (*audit_->List(AuditQuery{.limit = 1}))[0]; }
};

TEST_F(EnrolmentConfirmationTest, ConfirmationIsRecordedAuditedAndShownAsConfirmed) {
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  Rotate();
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());  // v2 released for the re-enrolment
  auto confirmed = Confirm(2);
  ASSERT_THAT(confirmed, IsOk());
  EXPECT_EQ(confirmed->machine(), "web-1");
  EXPECT_EQ(confirmed->version(), 2u);
  AuditRecord a = LastAudit();
  EXPECT_EQ(a.action, "confirm_enrolment");
  EXPECT_EQ(a.actor, "machine:web-1");
  EXPECT_EQ(a.decision, "allow");
  EXPECT_EQ(a.key_version, 2u);
  EXPECT_THAT(a.reason, HasSubstr("no policy evaluated"));
  EXPECT_EQ(a.evidence_digest.size(), 64u);
  v1::GetRotationStatusResponse s = Status();
  ASSERT_EQ(s.machines_size(), 1);
  EXPECT_EQ(s.machines(0).version(), 2u);
  EXPECT_EQ(s.machines(0).source(), "confirmed");
  EXPECT_TRUE(s.machines(0).current());
  EXPECT_EQ(s.machines(0).last_released_version(), 2u);
  EXPECT_NE(s.machines(0).confirmed_at().seconds(), 0);
}

TEST_F(EnrolmentConfirmationTest, ConfirmedVersionWinsOverTheLatestRelease) {
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  ASSERT_THAT(Confirm(1), IsOk());
  Rotate();
  // The guest released v2 to re-enrol but has not confirmed: it still uses v1.
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  v1::GetRotationStatusResponse s = Status();
  EXPECT_EQ(s.machines(0).version(), 1u);
  EXPECT_EQ(s.machines(0).source(), "confirmed");
  EXPECT_FALSE(s.machines(0).current());
  EXPECT_EQ(s.machines(0).last_released_version(), 2u);
  auto refused = Retire(1, false);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("web-1 (confirmed)"));
  ASSERT_THAT(Confirm(2), IsOk());
  EXPECT_THAT(Retire(1, false), IsOk());
}

TEST_F(EnrolmentConfirmationTest, MachinesThatNeverConfirmedFallBackToTheirRelease) {
  auto other = *SoftwareTpm::Create();
  other->SetPcr(7, std::string(32, '\x07'));
  RegisterAk(*other, "web-2");
  ASSERT_TRUE(SetPolicy("disk", R"({"allow":[{"name":"r1","machines":["web-1","web-2"],)"
                                R"("pcrs":[{"index":7,"allowed":[")" +
                                    HexEncode(std::string(32, '\x07')) + R"("]}]}]})")
                  .ok());
  ASSERT_THAT(Release(*other, "disk"), IsOk());
  ASSERT_THAT(Confirm(1), IsOk());  // web-1 confirms without any release
  v1::GetRotationStatusResponse s = Status();
  ASSERT_EQ(s.machines_size(), 2);
  EXPECT_EQ(s.machines(0).machine(), "web-1");
  EXPECT_EQ(s.machines(0).source(), "confirmed");
  EXPECT_EQ(s.machines(0).released_at().seconds(), 0);
  EXPECT_EQ(s.machines(1).machine(), "web-2");
  EXPECT_EQ(s.machines(1).source(), "release");
  EXPECT_EQ(s.machines(1).confirmed_at().seconds(), 0);
}

TEST_F(EnrolmentConfirmationTest, ReleaseEvidenceIsNoConfirmationAndTheReverse) {
  v1::GetChallengeResponse c = Challenge();
  v1::ReleaseKeyRequest release = *BuildRequest(*tpm_, c.challenge_id(), c.nonce(), "disk");
  v1::ConfirmEnrolmentRequest as_confirmation;
  as_confirmation.set_challenge_id(release.challenge_id());
  as_confirmation.set_key_id("disk");
  as_confirmation.set_version(1);
  *as_confirmation.mutable_evidence() = release.evidence();
  *as_confirmation.mutable_transfer_key() = release.transfer_key();
  auto refused = release_->ConfirmEnrolment(as_confirmation, "peer");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("binding"));
  EXPECT_EQ(LastAudit().action, "confirm_enrolment");
  EXPECT_EQ(LastAudit().decision, "deny");

  v1::ConfirmEnrolmentRequest confirmation = Confirmation(1);
  v1::ReleaseKeyRequest as_release;
  as_release.set_challenge_id(confirmation.challenge_id());
  as_release.set_key_id("disk");
  *as_release.mutable_evidence() = confirmation.evidence();
  *as_release.mutable_transfer_key() = confirmation.transfer_key();
  auto denied = release_->ReleaseKey(as_release, "peer");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Status().machines().empty());
}

TEST_F(EnrolmentConfirmationTest, ConfirmationForAnotherVersionDoesNotVerify) {
  v1::ConfirmEnrolmentRequest r = Confirmation(1);
  Rotate();
  r.set_version(2);  // the evidence binds version 1
  EXPECT_EQ(release_->ConfirmEnrolment(r, "peer").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(EnrolmentConfirmationTest, ReplayedChallengeIsAborted) {
  v1::ConfirmEnrolmentRequest r = Confirmation(1);
  ASSERT_THAT(release_->ConfirmEnrolment(r, "peer"), IsOk());
  auto replay = release_->ConfirmEnrolment(r, "peer");
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(LastAudit().reason, HasSubstr("already used"));
}

TEST_F(EnrolmentConfirmationTest, DeniedUnknownAndMalformedAreRefused) {
  v1::DenyMachineRequest deny;
  deny.set_machine("web-1");
  ASSERT_THAT(admin_.machines->DenyMachine(deny, kOperator), IsOk());
  auto denied = Confirm(1);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(), "machine denied by operator");
  v1::AllowMachineRequest allow;
  allow.set_machine("web-1");
  ASSERT_THAT(admin_.machines->AllowMachine(allow, kOperator), IsOk());
  EXPECT_EQ(Confirm(7).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Confirm(0).status().code(), absl::StatusCode::kInvalidArgument);
  auto stranger = *SoftwareTpm::Create();
  auto unknown_ak = release_->ConfirmEnrolment(Confirmation(1, stranger.get()), "peer");
  EXPECT_EQ(unknown_ak.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Status().machines().empty());
}

class OfflineGrantsTest : public EnrolmentConfirmationTest {
 protected:
  void SetUp() override {
    EnrolmentConfirmationTest::SetUp();
    std::string policy = Pcr7PolicyFor("web-1");
    policy.insert(policy.find(R"("name":"r1",)") + 12, R"("offline_boots":4,)");
    ASSERT_THAT(SetPolicy("disk", policy), IsOk());
  }
  absl::StatusOr<v1::ListOfflineGrantsResponse> List(const std::string& key_id = "",
                                                     const AdminCaller& caller = {"CN=olivia"}) {
    v1::ListOfflineGrantsRequest r;
    r.set_key_id(key_id);
    return admin_.machines->ListOfflineGrants(r, caller);
  }
};

TEST_F(OfflineGrantsTest, ReleasesRecordGrantsAndRevocationsAreListed) {
  EXPECT_TRUE(List()->grants().empty());
  ASSERT_EQ(Release(*tpm_, "disk")->offline_boots(), 4u);
  auto list = List("", kAuditor);
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->grants_size(), 1);
  EXPECT_EQ(list->grants(0).key_id(), "disk");
  EXPECT_EQ(list->grants(0).machine(), "web-1");
  EXPECT_EQ(list->grants(0).key_version(), 1u);
  EXPECT_EQ(list->grants(0).offline_boots(), 4u);
  EXPECT_FALSE(list->grants(0).revoked());
  EXPECT_TRUE(list->revocations().empty());

  v1::RevokeOfflineGrantRequest revoke;
  revoke.set_key_id("disk");
  revoke.set_reason("lost");
  ASSERT_THAT(admin_.machines->RevokeOfflineGrant(revoke, kOperator), IsOk());
  list = List("disk");
  ASSERT_EQ(list->grants_size(), 1);  // the guest still holds its copy until it reconnects
  EXPECT_TRUE(list->grants(0).revoked());
  ASSERT_EQ(list->revocations_size(), 1);
  EXPECT_EQ(list->revocations(0).machine(), "");
  EXPECT_EQ(list->revocations(0).reason(), "lost");
  ASSERT_EQ(Release(*tpm_, "disk")->offline_boots(), 0u);  // the guest drops its copy
  list = List();
  EXPECT_TRUE(list->grants().empty());
  EXPECT_EQ(list->revocations_size(), 1);
}

TEST_F(OfflineGrantsTest, FilterRolesAndValidation) {
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  EXPECT_EQ(List("other")->grants_size(), 0);
  EXPECT_EQ(List("disk")->grants_size(), 1);
  EXPECT_EQ(List("bad id!").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(List("", {"CN=nobody", "nobody"}).status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace kb
