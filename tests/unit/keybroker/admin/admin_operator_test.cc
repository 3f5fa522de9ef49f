// AdminService::TestPolicy (release dry run) and offline-grace revocation, including its
// effect on releases.
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class AdminOperatorTest : public BrokerFixture {
 protected:
  const AdminCaller kOperator{"CN=olivia", "olivia"};
  const AdminCaller kAuditor{"CN=auditor-ann", "auditor-ann"};

  // "disk" released to web-1 by PCR 7 with `offline_boots` of grace.
  void ReadyKey(uint32_t offline_boots = 0) {
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    std::string policy = Pcr7PolicyFor("web-1");
    if (offline_boots > 0) {
      policy.insert(policy.find(R"("name":"r1",)") + 12,
                    absl::StrCat(R"("offline_boots":)", offline_boots, ","));
    }
    ASSERT_THAT(SetPolicy("disk", policy), IsOk()) << policy;
  }
  // Evidence as a guest would capture it, for a made-up challenge.
  v1::Evidence Evidence() {
    auto request = BuildRequest(*tpm_, "none", std::string(32, 'n'), "disk");
    EXPECT_THAT(request, IsOk());
    return request->evidence();
  }
  absl::StatusOr<v1::TestPolicyResponse> Test(const v1::Evidence& evidence,
                                              const std::string& policy = "",
                                              const AdminCaller& caller = {"CN=op", "op"}) {
    v1::TestPolicyRequest r;
    r.set_key_id("disk");
    r.set_policy_json(policy);
    *r.mutable_evidence() = evidence;
    return admin_.policies->TestPolicy(r, caller);
  }
  absl::StatusOr<v1::OfflineRevocation> Revoke(const std::string& machine) {
    v1::RevokeOfflineGrantRequest r;
    r.set_key_id("disk");
    r.set_machine(machine);
    r.set_reason("laptop stolen");
    return admin_.machines->RevokeOfflineGrant(r, kOperator);
  }
  absl::StatusOr<v1::RestoreOfflineGrantResponse> Restore(const std::string& machine) {
    v1::RestoreOfflineGrantRequest r;
    r.set_key_id("disk");
    r.set_machine(machine);
    return admin_.machines->RestoreOfflineGrant(r, kOperator);
  }
  AuditRecord LastAudit() { return (*audit_->List(AuditQuery{.limit = 1}))[0]; }
};

TEST_F(AdminOperatorTest, TestPolicyAllowsWithRuleClaimsAndOfflineBoots) {
  ReadyKey(5);
  auto r = Test(Evidence());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->decision(), "allow");
  EXPECT_EQ(r->rule(), "'r1'");
  EXPECT_EQ(r->offline_boots(), 5u);
  EXPECT_EQ(r->policy_version(), 1u);
  EXPECT_FALSE(r->candidate_policy());
  EXPECT_TRUE(r->evidence_verified());
  EXPECT_EQ(r->binding(), "not checked (dry run)");
  EXPECT_EQ(r->machine(), "web-1");
  EXPECT_EQ(r->claims().at("pcr.sha256:7"), HexEncode(std::string(32, '\x07')));
  AuditRecord a = LastAudit();
  EXPECT_EQ(a.action, "policy_test");
  EXPECT_EQ(a.key_id, "disk");
  EXPECT_THAT(a.reason, HasSubstr("would allow by rule 'r1'"));
}

TEST_F(AdminOperatorTest, TestPolicyNeverTouchesChallengesOrKeys) {
  ReadyKey();
  const size_t before = audit_->List(AuditQuery{.limit = 100})->size();
  ASSERT_THAT(Test(Evidence()), IsOk());
  auto records = *audit_->List(AuditQuery{.limit = 100});
  EXPECT_EQ(records.size(), before + 1);
  for (const AuditRecord& a : records) EXPECT_NE(a.action, "release");
  // The real release still needs its own challenge and works afterwards.
  EXPECT_THAT(Release(*tpm_, "disk"), IsOk());
}

TEST_F(AdminOperatorTest, TestPolicyDenyNamesTheFailingClause) {
  ReadyKey();
  tpm_->SetPcr(7, std::string(32, '\x08'));
  auto r = Test(Evidence());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->decision(), "deny");
  EXPECT_TRUE(r->evidence_verified());
  EXPECT_THAT(r->reason(), HasSubstr("rule 'r1': pcr sha256:7 value"));
  EXPECT_THAT(LastAudit().reason, HasSubstr("would deny"));
}

TEST_F(AdminOperatorTest, TestPolicyWithCandidatePolicy) {
  ReadyKey();
  const std::string candidate = Pcr7PolicyFor("web-2");
  auto r = Test(Evidence(), candidate);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->candidate_policy());
  EXPECT_EQ(r->policy_version(), 0u);
  EXPECT_EQ(r->decision(), "deny");
  EXPECT_THAT(r->reason(), HasSubstr("machine 'web-1' not allowed"));
  // The stored policy is unchanged.
  EXPECT_EQ(keys_->GetKey("disk")->policy_version, 1u);
  auto bad = Test(Evidence(), R"({"allow":[{"machinez":["x"]}]})");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminOperatorTest, TestPolicyMalformedEvidenceNamesTheCheck) {
  ReadyKey();
  v1::Evidence evidence = Evidence();
  evidence.mutable_tpm_quote()->set_attest("garbage");
  auto r = Test(evidence);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->decision(), "deny");
  EXPECT_FALSE(r->evidence_verified());
  EXPECT_THAT(r->reason(), HasSubstr("check 'parse' failed"));
  EXPECT_TRUE(r->claims().empty());

  evidence = Evidence();
  std::string sig = evidence.tpm_quote().signature();
  sig[sig.size() - 1] ^= 1;
  evidence.mutable_tpm_quote()->set_signature(sig);
  r = Test(evidence);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->reason(), HasSubstr("check 'quote_signature' failed"));

  EXPECT_EQ(Test(v1::Evidence()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminOperatorTest, TestPolicyNeedsOperatorOrAdmin) {
  ReadyKey();
  EXPECT_THAT(Test(Evidence(), "", kOperator), IsOk());
  auto denied = Test(Evidence(), "", kAuditor);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  AuditRecord a = LastAudit();
  EXPECT_EQ(a.action, "policy_test");
  EXPECT_EQ(a.decision, "deny");
}

TEST_F(AdminOperatorTest, RevokedOfflineGrantReleasesZeroBootsUntilRestored) {
  ReadyKey(5);
  EXPECT_EQ(Release(*tpm_, "disk")->offline_boots(), 5u);
  auto revoked = Revoke("");
  ASSERT_THAT(revoked, IsOk());
  EXPECT_EQ(revoked->revoked_by(), "CN=olivia");
  EXPECT_EQ(LastAudit().action, "revoke_offline");
  EXPECT_THAT(LastAudit().reason, HasSubstr("laptop stolen"));
  auto released = Release(*tpm_, "disk");
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(released->offline_boots(), 0u);
  AuditRecord a = LastAudit();
  EXPECT_EQ(a.action, "release");
  EXPECT_THAT(a.reason, HasSubstr("revoked by operator (every machine: laptop stolen)"));

  auto restored = Restore("");
  ASSERT_THAT(restored, IsOk());
  EXPECT_TRUE(restored->was_revoked());
  EXPECT_EQ(Release(*tpm_, "disk")->offline_boots(), 5u);
  EXPECT_FALSE(Restore("")->was_revoked());
}

TEST_F(AdminOperatorTest, PerMachineRevocationSparesOtherMachines) {
  ReadyKey(3);
  auto other = *SoftwareTpm::Create();
  other->SetPcr(7, std::string(32, '\x07'));
  RegisterAk(*other, "web-2");
  const std::string policy = R"({"allow":[{"name":"r1","offline_boots":3,"machines":["web-1",)"
                             R"("web-2"],"pcrs":[{"index":7,"allowed":[")" +
                             HexEncode(std::string(32, '\x07')) + R"("]}]}]})";
  ASSERT_THAT(SetPolicy("disk", policy), IsOk());
  ASSERT_THAT(Revoke("web-1"), IsOk());
  EXPECT_EQ(Release(*tpm_, "disk")->offline_boots(), 0u);
  EXPECT_THAT(LastAudit().reason, HasSubstr("(web-1: laptop stolen)"));
  EXPECT_EQ(Release(*other, "disk")->offline_boots(), 3u);
  ASSERT_THAT(Restore("web-1"), IsOk());
  EXPECT_EQ(Release(*tpm_, "disk")->offline_boots(), 3u);
}

TEST_F(AdminOperatorTest, RevocationRolesAndValidation) {
  ReadyKey(1);
  v1::RevokeOfflineGrantRequest r;
  r.set_key_id("disk");
  EXPECT_EQ(admin_.machines->RevokeOfflineGrant(r, kAuditor).status().code(),
            absl::StatusCode::kPermissionDenied);
  r.set_key_id("nope");
  EXPECT_EQ(admin_.machines->RevokeOfflineGrant(r, kOperator).status().code(),
            absl::StatusCode::kNotFound);
  r.set_key_id("disk");
  r.set_machine("has space");
  EXPECT_EQ(admin_.machines->RevokeOfflineGrant(r, kOperator).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
