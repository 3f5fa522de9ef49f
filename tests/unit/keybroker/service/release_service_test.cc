#include "keybroker/service/release_service.h"

#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class ReleaseServiceTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
  }

  v1::ReleaseKeyRequest FreshRequest(const std::string& key_id = "disk") {
    v1::GetChallengeRequest cr;
    cr.set_key_id(key_id);
    auto c = *release_->GetChallenge(cr);
    return *BuildRequest(*tpm_, c.challenge_id(), c.nonce(), key_id);
  }

  std::string LastAuditReason() { return (*audit_->List(AuditQuery{.limit = 1}))[0].reason; }
};

TEST_F(ReleaseServiceTest, ReleasesWrappedKeyThatOnlyTheGuestUnwraps) {
  auto response = Release(*tpm_, "disk");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->version(), 1u);
  EXPECT_EQ(response->latest_version(), 1u);
  auto key = tpm_->Unwrap(response->wrapped_key());
  ASSERT_THAT(key, IsOk());
  auto stored = keys_->GetKeyMaterial("disk", 1);
  EXPECT_TRUE(ConstantTimeEquals(*key, *stored));
  auto audit = *audit_->List(AuditQuery{.limit = 1});
  EXPECT_EQ(audit[0].decision, "allow");
  EXPECT_EQ(audit[0].actor, "machine:web-1");
  EXPECT_EQ(audit[0].reason, "policy v1 rule 'r1'");
}

TEST_F(ReleaseServiceTest, RsaTransferKeyWorksToo) {
  v1::GetChallengeRequest cr;
  cr.set_key_id("disk");
  auto c = *release_->GetChallenge(cr);
  auto request =
      *BuildRequest(*tpm_, c.challenge_id(), c.nonce(), "disk", {0, 7}, TransferKeyType::kRsa2048);
  auto response = release_->ReleaseKey(request, "peer");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->wrapped_key().scheme(), v1::WRAP_SCHEME_RSA_OAEP_SHA256_A256KWP);
  EXPECT_THAT(tpm_->Unwrap(response->wrapped_key()), IsOk());
}

TEST_F(ReleaseServiceTest, ReplayedChallengeIsAborted) {
  v1::ReleaseKeyRequest request = FreshRequest();
  ASSERT_THAT(release_->ReleaseKey(request, "peer"), IsOk());
  auto replay = release_->ReleaseKey(request, "peer");
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(LastAuditReason(), HasSubstr("already used"));
}

TEST_F(ReleaseServiceTest, ExpiredChallengeIsAborted) {
  v1::ReleaseKeyRequest request = FreshRequest();
  clock_.Advance(absl::Seconds(61));
  auto r = release_->ReleaseKey(request, "peer");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("expired"));
}

TEST_F(ReleaseServiceTest, ChallengeForAnotherKeyIsAborted) {
  CreateKey("other");
  v1::ReleaseKeyRequest request = FreshRequest("other");
  request.set_key_id("disk");
  EXPECT_EQ(release_->ReleaseKey(request, "peer").status().code(), absl::StatusCode::kAborted);
}

TEST_F(ReleaseServiceTest, OtherPcrsAreDeniedByPolicy) {
  auto second = *SoftwareTpm::Create();
  second->SetPcr(7, std::string(32, '\x66'));
  RegisterAk(*second, "web-1b");
  ASSERT_TRUE(SetPolicy("disk", R"({"allow":[{"name":"r1","machines":["web-1","web-1b"],
      "pcrs":[{"index":7,"allowed":[")" +
                                    HexEncode(std::string(32, '\x07')) + R"("]}]}]})")
                  .ok());
  auto r = Release(*second, "disk");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("pcr sha256:7"));
  EXPECT_EQ((*audit_->List(AuditQuery{.limit = 1}))[0].decision, "deny");
}

TEST_F(ReleaseServiceTest, KeyWithoutPolicyIsNeverReleased) {
  CreateKey("nopolicy");
  auto r = Release(*tpm_, "nopolicy");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no release policy"));
}

TEST_F(ReleaseServiceTest, DisabledKeyIsDenied) {
  v1::DisableKeyRequest d;
  d.set_key_id("disk");
  ASSERT_THAT(admin_.keys->DisableKey(d, {"CN=op", "op"}), IsOk());
  auto r = Release(*tpm_, "disk");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("disabled"));
}

TEST_F(ReleaseServiceTest, UnknownKeyIsNotFoundOnlyAfterAttestation) {
  EXPECT_EQ(Release(*tpm_, "nosuchkey").status().code(), absl::StatusCode::kNotFound);
  auto stranger = *SoftwareTpm::Create();
  EXPECT_EQ(Release(*stranger, "nosuchkey").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ReleaseServiceTest, MalformedRequestsAreInvalid) {
  v1::ReleaseKeyRequest request = FreshRequest();
  request.clear_evidence();
  EXPECT_EQ(release_->ReleaseKey(request, "p").status().code(), absl::StatusCode::kInvalidArgument);
  request = FreshRequest();
  request.set_key_id("bad key/../");
  EXPECT_EQ(release_->ReleaseKey(request, "p").status().code(), absl::StatusCode::kInvalidArgument);
  v1::GetChallengeRequest cr;
  EXPECT_EQ(release_->GetChallenge(cr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ReleaseServiceTest, AuditNeverContainsKeyMaterial) {
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  std::string key(keys_->GetKeyMaterial("disk", 1)->view());
  auto records = audit_->List(AuditQuery{.limit = 100});
  ASSERT_THAT(records, IsOk());
  for (const AuditRecord& a : *records) {
    for (const std::string& field : {a.actor, a.action, a.key_id, a.reason}) {
      EXPECT_EQ(field.find(key), std::string::npos);
      EXPECT_EQ(field.find(HexEncode(key)), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace kb
