// The attestation step as keybrokerd wires it: the TPM verifier without a registry, the AK's
// registration found by the store read that spends the challenge (ReleaseService::Attest).
// What a guest and an attacker see is what they saw when the challenge was spent first.
#include <optional>

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "keybroker/service/release_service.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class AttestationTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    release_verifiers_.Add(v1::Evidence::kTpmQuote, std::make_unique<TpmQuoteVerifier>(nullptr));
    refusals_.emplace(audit_.get(), &clock_, absl::Hours(1));
    ReleaseService::Deps deps = ReleaseDeps();
    deps.verifier = &release_verifiers_;
    deps.refusals = &*refusals_;
    release_ = std::make_unique<ReleaseService>(deps, absl::Seconds(60));
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
  }

  v1::ReleaseKeyRequest Request(Tpm& tpm, const std::string& key_id = "disk") {
    v1::GetChallengeRequest cr;
    cr.set_key_id(key_id);
    auto c = *release_->GetChallenge(cr);
    return *BuildRequest(tpm, c.challenge_id(), c.nonce(), key_id);
  }
  std::vector<AuditRecord> Audit() { return *audit_->List(AuditQuery{.limit = 100}); }

  VerifierSet release_verifiers_;
  std::optional<RefusalTally> refusals_;
};

TEST_F(AttestationTest, TheChallengeIdIsItsNonceInHex) {
  v1::GetChallengeRequest cr;
  cr.set_key_id("disk");
  auto c = release_->GetChallenge(cr);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->nonce().size(), kChallengeNonceSize);
  EXPECT_EQ(c->challenge_id(), HexEncode(c->nonce()));
}

TEST_F(AttestationTest, TheMachineIsTheOneItsAkIsRegisteredFor) {
  auto released = release_->ReleaseKey(Request(*tpm_), "peer");
  ASSERT_THAT(released, IsOk());
  EXPECT_THAT(tpm_->Unwrap(released->wrapped_key()), IsOk());
  EXPECT_EQ(Audit()[0].actor, "machine:web-1");
}

TEST_F(AttestationTest, AnUnregisteredAkIsRefusedByNameAfterItsChallengeIsSpent) {
  auto stranger = *SoftwareTpm::Create();
  stranger->SetPcr(7, std::string(32, '\x07'));
  v1::ReleaseKeyRequest request = Request(*stranger);
  auto refused = release_->ReleaseKey(request, "peer");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(), HasSubstr("evidence check 'ak_trusted' failed"));
  EXPECT_THAT(refused.status().message(), HasSubstr("is not registered"));
  EXPECT_THAT(Audit()[0].reason, HasSubstr("is not registered"));  // audited: evidence checked
  // The challenge is spent all the same.
  EXPECT_EQ(release_->ReleaseKey(request, "peer").status().code(), absl::StatusCode::kAborted);
}

TEST_F(AttestationTest, AnAkRemovedAfterAReleaseIsRefusedAtTheNext) {
  ASSERT_THAT(release_->ReleaseKey(Request(*tpm_), "peer"), IsOk());
  v1::RemoveAttestationKeyRequest remove;
  remove.set_ak_name((*aks_->List())[0].name);
  ASSERT_THAT(admin_.machines->RemoveAttestationKey(remove, {"CN=op", "op"}), IsOk());
  auto refused = release_->ReleaseKey(Request(*tpm_), "peer");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
}

TEST_F(AttestationTest, TheDenyListAppliesToTheRegisteredMachine) {
  v1::DenyMachineRequest deny;
  deny.set_machine("web-1");
  deny.set_reason("stolen");
  ASSERT_THAT(admin_.machines->DenyMachine(deny, {"CN=op", "op"}), IsOk());
  auto refused = release_->ReleaseKey(Request(*tpm_), "peer");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("machine denied by operator"));
}

// A request without a valid challenge is refused for that even when its evidence is refused
// too, and counted rather than audited, as when the challenge was spent before verification.
TEST_F(AttestationTest, WithoutAValidChallengeBadEvidenceIsRefusedForTheChallenge) {
  const size_t records = Audit().size();
  v1::ReleaseKeyRequest garbage = Request(*tpm_);
  garbage.mutable_evidence()->mutable_tpm_quote()->set_signature("not a signature");
  for (const std::string& id :
       {std::string("no-such-challenge"), std::string(64, 'a'), HexEncode(*RandomBytes(16))}) {
    garbage.set_challenge_id(id);
    auto refused = release_->ReleaseKey(garbage, "peer");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted) << id;
    EXPECT_THAT(refused.status().message(), HasSubstr("challenge unknown or already used"));
  }
  EXPECT_EQ(Audit().size(), records);  // counted by the tally, not one record each
  // With a valid challenge, the evidence's refusal is what the guest hears, and it is audited.
  v1::ReleaseKeyRequest bad = Request(*tpm_);
  bad.mutable_evidence()->mutable_tpm_quote()->set_signature("not a signature");
  auto refused = release_->ReleaseKey(bad, "peer");
  EXPECT_NE(refused.status().code(), absl::StatusCode::kAborted) << refused.status();
  EXPECT_EQ(Audit().size(), records + 1);
  // Its challenge is spent.
  EXPECT_EQ(release_->ReleaseKey(bad, "peer").status().code(), absl::StatusCode::kAborted);
}

TEST_F(AttestationTest, AnExpiredChallengeIsRefusedWhateverTheEvidence) {
  v1::ReleaseKeyRequest good = Request(*tpm_);
  v1::ReleaseKeyRequest bad = Request(*tpm_);
  bad.mutable_evidence()->mutable_tpm_quote()->set_signature("not a signature");
  clock_.Advance(absl::Seconds(61));
  for (const v1::ReleaseKeyRequest* r : {&good, &bad}) {
    auto refused = release_->ReleaseKey(*r, "peer");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
    EXPECT_THAT(refused.status().message(), HasSubstr("challenge expired"));
  }
}

TEST_F(AttestationTest, AChallengeForAnotherKeyIsRefusedWhateverTheEvidence) {
  CreateKey("other");
  v1::ReleaseKeyRequest request = Request(*tpm_, "other");
  request.set_key_id("disk");  // the binding names "other": the evidence is refused too
  auto refused = release_->ReleaseKey(request, "peer");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(refused.status().message(), HasSubstr("issued for another key id"));
}

}  // namespace
}  // namespace kb
