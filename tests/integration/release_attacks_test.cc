// Attacks on ReleaseKey over real TLS gRPC, with genuine evidence from swtpm as the base.
#include <grpcpp/client_context.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/binding.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"
#include "unlocker/esys/esys_tpm.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class ReleaseAttacksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    BrokerProcess::Options options;
    options.challenge_ttl_seconds = 2;
    options.extra_config = R"("request_limits":{"unverified_refusal_audit_seconds":1})";
    auto broker = BrokerProcess::Start(options);
    ASSERT_THAT(broker, IsOk());
    broker_ = broker->release();
  }
  static void TearDownTestSuite() { delete broker_; }

  void SetUp() override {
    ASSERT_NE(broker_, nullptr);
    auto swtpm = SwtpmFixture::Start();
    ASSERT_THAT(swtpm, IsOk());
    swtpm_ = std::move(*swtpm);
    EsysTpmOptions options;
    options.tcti = swtpm_->tcti();
    auto tpm = EsysTpm::Create(options);
    ASSERT_THAT(tpm, IsOk());
    tpm_ = std::move(*tpm);
    key_id_ = absl::StrCat("k", ++counter_);
    auto admin = broker_->AdminStub();
    v1::RegisterAttestationKeyRequest reg;
    reg.set_machine(key_id_ + "-vm");
    reg.set_ak_public(*tpm_->AttestationKeyPublic());
    v1::AttestationKeyInfo info;
    v1::CreateKeyRequest create;
    create.set_key_id(key_id_);
    v1::KeyMetadata meta;
    v1::SetPolicyRequest policy;
    policy.set_key_id(key_id_);
    policy.set_policy_json(absl::StrCat(R"({"allow":[{"machines":[")", key_id_, R"(-vm"]}]})"));
    v1::SetPolicyResponse policy_resp;
    grpc::ClientContext c1, c2, c3;
    ASSERT_THAT(admin->RegisterAttestationKey(&c1, reg, &info), IsOk());
    ASSERT_THAT(admin->CreateKey(&c2, create, &meta), IsOk());
    ASSERT_THAT(admin->SetPolicy(&c3, policy, &policy_resp), IsOk());
    stub_ = broker_->ReleaseStub();
  }

  // A genuine request for a fresh challenge, built the way kbunlock builds it.
  v1::ReleaseKeyRequest GenuineRequest() {
    v1::GetChallengeRequest cr;
    cr.set_key_id(key_id_);
    v1::GetChallengeResponse challenge;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->GetChallenge(&ctx, cr, &challenge), IsOk());
    std::string pub = *tpm_->CreateTransferKey(TransferKeyType::kEccP256);
    std::string binding = ComputeBinding(challenge.nonce(), key_id_, pub);
    v1::ReleaseKeyRequest r;
    r.set_challenge_id(challenge.challenge_id());
    r.set_key_id(key_id_);
    *r.mutable_transfer_key()->mutable_tpm() = *tpm_->CertifyTransferKey(binding);
    *r.mutable_evidence()->mutable_tpm_quote() = *tpm_->Quote(binding, {0, 7});
    return r;
  }

  grpc::Status Release(const v1::ReleaseKeyRequest& r, v1::ReleaseKeyResponse* out = nullptr) {
    v1::ReleaseKeyResponse response;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ReleaseKey(&ctx, r, &response);
    if (out) *out = response;
    return s;
  }

  static BrokerProcess* broker_;
  static int counter_;
  std::unique_ptr<SwtpmFixture> swtpm_;
  std::unique_ptr<EsysTpm> tpm_;
  std::unique_ptr<v1::KeyRelease::Stub> stub_;
  std::string key_id_;
};

BrokerProcess* ReleaseAttacksTest::broker_ = nullptr;
int ReleaseAttacksTest::counter_ = 0;

TEST_F(ReleaseAttacksTest, GenuineRequestReleasesAKeyOnlyThisTpmUnwraps) {
  v1::ReleaseKeyResponse response;
  ASSERT_THAT(Release(GenuineRequest(), &response), IsOk());
  auto key = tpm_->Unwrap(response.wrapped_key());
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->size(), 32u);
}

TEST_F(ReleaseAttacksTest, ReplayedNonceIsAborted) {
  v1::ReleaseKeyRequest r = GenuineRequest();
  ASSERT_THAT(Release(r), IsOk());
  grpc::Status replay = Release(r);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(replay.error_message(), HasSubstr("already used"));
}

TEST_F(ReleaseAttacksTest, ExpiredChallengeIsAborted) {
  v1::ReleaseKeyRequest r = GenuineRequest();
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  grpc::Status s = Release(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));
}

TEST_F(ReleaseAttacksTest, TamperedQuoteIsUnauthenticated) {
  v1::ReleaseKeyRequest r = GenuineRequest();
  std::string* attest = r.mutable_evidence()->mutable_tpm_quote()->mutable_attest();
  (*attest)[attest->size() - 1] ^= 0x01;  // last byte of the PCR digest
  grpc::Status s = Release(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("quote_signature"));
}

TEST_F(ReleaseAttacksTest, SwappedTransferKeyGetsNothing) {
  // A man in the middle replaces the transfer key with one from a TPM it controls.
  v1::ReleaseKeyRequest r = GenuineRequest();
  auto attacker_swtpm = SwtpmFixture::Start();
  ASSERT_THAT(attacker_swtpm, IsOk());
  EsysTpmOptions options;
  options.tcti = (*attacker_swtpm)->tcti();
  auto attacker = EsysTpm::Create(options);
  ASSERT_THAT(attacker, IsOk());
  std::string pub = *(*attacker)->CreateTransferKey(TransferKeyType::kEccP256);
  *r.mutable_transfer_key()->mutable_tpm() = *(*attacker)->CertifyTransferKey("x");
  grpc::Status s = Release(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("quote_binding"));
}

TEST_F(ReleaseAttacksTest, UncertifiedTransferKeyIsRejected) {
  v1::ReleaseKeyRequest r = GenuineRequest();
  auto* tk = r.mutable_transfer_key()->mutable_tpm();
  tk->clear_certify_info();
  tk->clear_certify_signature();
  grpc::Status s = Release(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("certify"));

  // A certification whose signature does not verify.
  r = GenuineRequest();
  std::string* sig = r.mutable_transfer_key()->mutable_tpm()->mutable_certify_signature();
  (*sig)[sig->size() - 2] ^= 0x55;
  s = Release(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("transfer_key_certification"));
}

TEST_F(ReleaseAttacksTest, MalformedEvidenceIsInvalid) {
  v1::ReleaseKeyRequest r = GenuineRequest();
  r.mutable_evidence()->mutable_tpm_quote()->set_attest("\xff\x54\x43\x47 not a TPMS_ATTEST");
  grpc::Status s = Release(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("'parse'"));

  r = GenuineRequest();
  r.clear_evidence();
  EXPECT_EQ(Release(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Decisions on evidence are audited one each; a replay, refused before its evidence is looked
// at, is audited as a count per address and reason (issue 9: such requests cost nothing).
TEST_F(ReleaseAttacksTest, DeniedDecisionsAreAudited) {
  v1::ReleaseKeyRequest r = GenuineRequest();
  ASSERT_THAT(Release(r), IsOk());
  ASSERT_FALSE(Release(r).ok());
  v1::ReleaseKeyRequest wrong_pcr = GenuineRequest();
  wrong_pcr.mutable_evidence()->mutable_tpm_quote()->mutable_pcrs(0)->set_digest(
      std::string(32, '\x01'));
  ASSERT_FALSE(Release(wrong_pcr).ok());
  absl::SleepFor(absl::Seconds(1.5));  // the refusal tally is written every second here
  v1::ListAuditEventsRequest req;
  req.set_limit(6);
  v1::ListAuditEventsResponse events;
  grpc::ClientContext ctx;
  ASSERT_THAT(broker_->AdminStub()->ListAuditEvents(&ctx, req, &events), IsOk());
  int replay_counted = -1, pcr_denied = -1, allowed = -1;  // positions, newest first
  for (int i = 0; i < events.events_size(); ++i) {
    const v1::AuditEvent& e = events.events(i);
    if (e.action() == "release_refused_unverified" &&
        absl::StrContains(e.reason(), "already used")) {
      EXPECT_EQ(e.actor(), "peer-address:127.0.0.1");
      EXPECT_THAT(e.reason(), HasSubstr("1 request(s) refused before evidence"));
      replay_counted = i;
    } else if (e.action() == "release" && e.decision() == "deny" && pcr_denied < 0) {
      EXPECT_THAT(e.reason(), HasSubstr("pcr_digest"));
      pcr_denied = i;
    } else if (e.action() == "release" && e.decision() == "allow" && allowed < 0) {
      EXPECT_EQ(e.actor(), "machine:" + key_id_ + "-vm");
      allowed = i;
    }
  }
  EXPECT_GE(replay_counted, 0);
  EXPECT_GE(pcr_denied, 0);
  EXPECT_GT(allowed, pcr_denied);
}

}  // namespace
}  // namespace kb
