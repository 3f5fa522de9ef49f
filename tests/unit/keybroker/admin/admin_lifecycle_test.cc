// Roles enforced by AdminService, rotation, retirement and the machine deny list, including
// their effect on releases.
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class AdminLifecycleTest : public BrokerFixture {
 protected:
  const AdminCaller kOperator{"CN=olivia", "olivia"};
  const AdminCaller kAuditor{"CN=auditor-ann", "auditor-ann"};
  const AdminCaller kNobody{"CN=nobody", "nobody"};

  void ReadyKey(const std::string& key_id) {
    RegisterAk(*tpm_, "web-1");
    CreateKey(key_id);
    ASSERT_THAT(SetPolicy(key_id, Pcr7PolicyFor("web-1")), IsOk());
  }
  absl::StatusOr<v1::KeyMetadata> Rotate(const std::string& key_id, const AdminCaller& c) {
    v1::RotateKeyRequest r;
    r.set_key_id(key_id);
    return admin_.keys->RotateKey(r, c);
  }
  absl::StatusOr<v1::KeyMetadata> Retire(const std::string& key_id, uint32_t v, bool force) {
    v1::RetireKeyVersionRequest r;
    r.set_key_id(key_id);
    r.set_version(v);
    r.set_force(force);
    return admin_.keys->RetireKeyVersion(r, kOperator);
  }
  AuditRecord LastAudit() { return (*audit_->List(AuditQuery{.limit = 1}))[0]; }
};

TEST_F(AdminLifecycleTest, OperatorCannotManageAndDenialIsAudited) {
  v1::CreateKeyRequest r;
  r.set_key_id("k");
  auto s = admin_.keys->CreateKey(r, kOperator);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("requires role 'admin'"));
  AuditRecord a = LastAudit();
  EXPECT_EQ(a.action, "create_key");
  EXPECT_EQ(a.actor, "CN=olivia");
  EXPECT_EQ(a.decision, "deny");
  EXPECT_EQ(keys_->GetKey("k").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AdminLifecycleTest, EachRoleGetsOnlyItsRpcs) {
  CreateKey("k");
  v1::GetKeyRequest get;
  get.set_key_id("k");
  EXPECT_THAT(admin_.keys->GetKey(get, kOperator), IsOk());
  EXPECT_THAT(admin_.keys->GetKey(get, kAuditor), IsOk());  // matched by common name
  EXPECT_EQ(admin_.keys->GetKey(get, kNobody).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Rotate("k", kOperator), IsOk());
  EXPECT_EQ(Rotate("k", kAuditor).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(admin_.audit->ListAuditEvents({}, kOperator).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(admin_.audit->ListAuditEvents({}, kAuditor), IsOk());
  EXPECT_TRUE(admin_.audit->VerifyAuditChain({}, kAuditor)->ok());
  v1::DenyMachineRequest deny;
  deny.set_machine("m");
  EXPECT_EQ(admin_.machines->DenyMachine(deny, kAuditor).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(admin_.machines->DenyMachine(deny, kOperator), IsOk());
  v1::SetPolicyRequest policy;
  policy.set_key_id("k");
  policy.set_policy_json(Pcr7PolicyFor("m"));
  EXPECT_EQ(admin_.policies->SetPolicy(policy, kOperator).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AdminLifecycleTest, RotationThenReleaseReturnsTheNewVersion) {
  ReadyKey("disk");
  auto first = Release(*tpm_, "disk");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->version(), 1u);
  auto rotated = Rotate("disk", kOperator);
  ASSERT_THAT(rotated, IsOk());
  EXPECT_EQ(rotated->latest_version(), 2u);
  EXPECT_EQ(rotated->active_version(), 2u);
  ASSERT_EQ(rotated->versions_size(), 2);
  EXPECT_EQ(LastAudit().action, "rotate_key");
  EXPECT_EQ(LastAudit().key_version, 2u);
  SecretBytes v1 = *keys_->GetKeyMaterial("disk", 1);
  SecretBytes v2 = *keys_->GetKeyMaterial("disk", 2);
  EXPECT_EQ(v2.size(), 32u);
  EXPECT_NE(v1.view(), v2.view());
  auto second = Release(*tpm_, "disk");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->version(), 2u);
  EXPECT_EQ(second->latest_version(), 2u);
  AuditRecord a = LastAudit();
  EXPECT_EQ(a.key_version, 2u);
  EXPECT_EQ(a.policy_version, 1u);
  EXPECT_EQ(a.evidence_digest.size(), 64u);
}

TEST_F(AdminLifecycleTest, RotationStatusShowsEachMachinesVersion) {
  ReadyKey("disk");
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  ASSERT_THAT(Rotate("disk", kOperator), IsOk());
  v1::GetRotationStatusRequest r;
  r.set_key_id("disk");
  auto status = admin_.keys->GetRotationStatus(r, kAuditor);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->active_version(), 2u);
  ASSERT_EQ(status->machines_size(), 1);
  EXPECT_EQ(status->machines(0).machine(), "web-1");
  EXPECT_EQ(status->machines(0).version(), 1u);
  EXPECT_FALSE(status->machines(0).current());
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  status = admin_.keys->GetRotationStatus(r, kAuditor);
  EXPECT_EQ(status->machines(0).version(), 2u);
  EXPECT_TRUE(status->machines(0).current());
}

TEST_F(AdminLifecycleTest, RetireNeedsForceWhileInUse) {
  ReadyKey("disk");
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());  // web-1 is on v1
  EXPECT_EQ(Retire("disk", 1, false).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_THAT(Rotate("disk", kOperator), IsOk());
  auto refused = Retire("disk", 1, false);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("web-1"));
  EXPECT_EQ(LastAudit().decision, "deny");
  auto forced = Retire("disk", 1, true);
  ASSERT_THAT(forced, IsOk());
  EXPECT_TRUE(forced->versions(0).retired());
  EXPECT_THAT(LastAudit().reason, HasSubstr("forced"));
  EXPECT_EQ(Retire("disk", 3, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Retire("disk", 2, false).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(AdminLifecycleTest, RetiredVersionIsNeverReleased) {
  ReadyKey("disk");
  ASSERT_THAT(Rotate("disk", kOperator), IsOk());
  ASSERT_THAT(Retire("disk", 1, false), IsOk());  // nobody was released v1
  auto r = Release(*tpm_, "disk");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version(), 2u);
  ASSERT_THAT(Retire("disk", 2, true), IsOk());  // the active version: only with force
  auto none = Release(*tpm_, "disk");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("retired"));
}

TEST_F(AdminLifecycleTest, DeniedMachineIsRefusedUntilAllowed) {
  ReadyKey("disk");
  v1::DenyMachineRequest deny;
  deny.set_machine("web-1");
  deny.set_reason("stolen disk");
  auto denied = admin_.machines->DenyMachine(deny, kOperator);
  ASSERT_THAT(denied, IsOk());
  EXPECT_EQ(denied->denied_by(), "CN=olivia");
  auto r = Release(*tpm_, "disk");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "machine denied by operator");
  EXPECT_EQ(LastAudit().actor, "machine:web-1");
  EXPECT_EQ(LastAudit().decision, "deny");
  EXPECT_EQ(admin_.machines->ListDeniedMachines({}, kAuditor)->machines_size(), 1);
  v1::AllowMachineRequest allow;
  allow.set_machine("web-1");
  EXPECT_TRUE(admin_.machines->AllowMachine(allow, kOperator)->was_denied());
  EXPECT_FALSE(admin_.machines->AllowMachine(allow, kOperator)->was_denied());
  EXPECT_THAT(Release(*tpm_, "disk"), IsOk());
}

TEST_F(AdminLifecycleTest, TeeAndEkMachineNamesCanBeDenied) {
  // Machine names as TEE evidence and EK-activated AKs carry them, colons included.
  for (const char* machine : {"snp-chip:0a1b2c", "azure-vm:0000-11", "ek:0123456789abcdef"}) {
    v1::DenyMachineRequest deny;
    deny.set_machine(machine);
    ASSERT_THAT(admin_.machines->DenyMachine(deny, kOperator), IsOk()) << machine;
    v1::AllowMachineRequest allow;
    allow.set_machine(machine);
    EXPECT_TRUE(admin_.machines->AllowMachine(allow, kOperator)->was_denied()) << machine;
  }
  for (const char* bad : {"", "two words", "tab\there"}) {
    v1::DenyMachineRequest deny;
    deny.set_machine(bad);
    EXPECT_EQ(admin_.machines->DenyMachine(deny, kOperator).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  v1::DenyMachineRequest too_long;
  too_long.set_machine(std::string(257, 'm'));
  EXPECT_EQ(admin_.machines->DenyMachine(too_long, kOperator).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminLifecycleTest, AuditListFiltersAndChainVerifies) {
  ReadyKey("disk");
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  v1::ListAuditEventsRequest q;
  q.set_actor("machine:web-1");
  q.set_decision("allow");
  auto events = admin_.audit->ListAuditEvents(q, kAuditor);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->events_size(), 1);
  EXPECT_EQ(events->events(0).policy_version(), 1u);
  EXPECT_EQ(events->events(0).hash().size(), 64u);
  q.set_decision("maybe");
  EXPECT_EQ(admin_.audit->ListAuditEvents(q, kAuditor).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto verified = admin_.audit->VerifyAuditChain({}, kAuditor);
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok());
  EXPECT_GE(verified->records(), 4u);
}

}  // namespace
}  // namespace kb
