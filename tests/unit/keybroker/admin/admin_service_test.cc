#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "keybroker/admin/admin_api.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class AdminServiceTest : public BrokerFixture {};

TEST_F(AdminServiceTest, CreateKeyValidatesAndNeverReturnsBytes) {
  v1::CreateKeyRequest r;
  r.set_key_id("disk");
  r.set_size_bytes(64);
  auto meta = admin_.keys->CreateKey(r, {"CN=op", "op"});
  ASSERT_THAT(meta, IsOk());
  EXPECT_EQ(meta->size_bytes(), 64u);
  EXPECT_EQ(keys_->GetKeyMaterial("disk", 1)->size(), 64u);
  EXPECT_EQ(admin_.keys->CreateKey(r, {"CN=op", "op"}).status().code(),
            absl::StatusCode::kAlreadyExists);
  r.set_key_id("k2");
  r.set_size_bytes(16);
  EXPECT_EQ(admin_.keys->CreateKey(r, {"CN=op", "op"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  r.set_key_id("");
  EXPECT_EQ(admin_.keys->CreateKey(r, {"CN=op", "op"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminServiceTest, PolicyRoundTripAndRejection) {
  CreateKey("disk");
  EXPECT_THAT(std::string(SetPolicy("disk", R"({"allow":[{}]})").message()),
              HasSubstr("allow every verified guest"));
  ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
  v1::GetPolicyRequest g;
  g.set_key_id("disk");
  auto p = admin_.policies->GetPolicy(g, {"CN=op", "op"});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->policy_version(), 1u);
  EXPECT_THAT(p->policy_json(), HasSubstr("web-1"));
  EXPECT_EQ(SetPolicy("nokey", Pcr7PolicyFor("a")).code(), absl::StatusCode::kNotFound);
}

TEST_F(AdminServiceTest, RegisterRejectsNonRestrictedKeys) {
  std::string pub = *tpm_->CreateTransferKey(TransferKeyType::kEccP256);
  v1::RegisterAttestationKeyRequest r;
  r.set_machine("m");
  r.set_ak_public(pub);
  auto s = admin_.machines->RegisterAttestationKey(r, {"CN=op", "op"});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  r.set_ak_public("garbage");
  EXPECT_EQ(admin_.machines->RegisterAttestationKey(r, {"CN=op", "op"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  RegisterAk(*tpm_, "web-1");
  r.set_ak_public(*tpm_->AttestationKeyPublic());
  EXPECT_EQ(admin_.machines->RegisterAttestationKey(r, {"CN=op", "op"}).status().code(),
            absl::StatusCode::kAlreadyExists);
  auto list = admin_.machines->ListAttestationKeys({}, {"CN=op", "op"});
  ASSERT_EQ(list->keys_size(), 1);
  EXPECT_EQ(list->keys(0).machine(), "web-1");
}

TEST_F(AdminServiceTest, EveryActionIsAudited) {
  CreateKey("disk");
  SetPolicy("disk", "{").IgnoreError();
  v1::DisableKeyRequest d;
  d.set_key_id("disk");
  ASSERT_THAT(admin_.keys->DisableKey(d, {"CN=alice"}), IsOk());
  auto events = admin_.audit->ListAuditEvents({}, {"CN=op", "op"});
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->events_size(), 3);
  EXPECT_EQ(events->events(0).action(), "disable_key");
  EXPECT_EQ(events->events(0).actor(), "CN=alice");
  EXPECT_EQ(events->events(1).action(), "set_policy");
  EXPECT_EQ(events->events(1).decision(), "deny");
  EXPECT_EQ(events->events(2).action(), "create_key");
}

}  // namespace
}  // namespace kb
