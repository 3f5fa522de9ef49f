// Issue 9, weaknesses 2-5 and the malformed-message answers, attacked over the real ports of a
// real keybrokerd with requests no kbunlock would send.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/grpc/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_client.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kChallengesPerSource = 30;

class HostileRequestsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    BrokerProcess::Options options;
    options.extra_config =
        absl::StrCat(R"("request_limits":{"max_outstanding_challenges_per_source":)",
                     kChallengesPerSource, R"(,"unverified_refusal_audit_seconds":1})");
    auto broker = BrokerProcess::Start(options);
    ASSERT_THAT(broker, IsOk());
    broker_ = broker->release();
  }
  static void TearDownTestSuite() { delete broker_; }

  std::shared_ptr<grpc::Channel> ReleaseChannel() const {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = *ReadFile(broker_->Path("ca.pem"));
    return grpc::CreateChannel(broker_->release_endpoint(), grpc::SslCredentials(tls));
  }

  static uint64_t AuditRecords() {
    grpc::ClientContext ctx;
    v1::VerifyAuditChainResponse r;
    EXPECT_THAT(broker_->AdminStub()->VerifyAuditChain(&ctx, {}, &r), IsOk());
    EXPECT_TRUE(r.ok()) << r.problem();
    return r.records();
  }

  static std::vector<v1::AuditEvent> AuditEvents(const std::string& actor_prefix = "") {
    grpc::ClientContext ctx;
    v1::ListAuditEventsRequest req;
    req.set_limit(1000);
    v1::ListAuditEventsResponse resp;
    EXPECT_THAT(broker_->AdminStub()->ListAuditEvents(&ctx, req, &resp), IsOk());
    std::vector<v1::AuditEvent> out;
    for (const auto& e : resp.events()) {
      if (e.actor().rfind(actor_prefix, 0) == 0) out.push_back(e);
    }
    return out;
  }

  static BrokerProcess* broker_;
};
BrokerProcess* HostileRequestsTest::broker_ = nullptr;

// Weakness 2: a key id with a line break must not write a line of its own into the log, nor
// raw bytes into the audit.
TEST_F(HostileRequestsTest, KeyIdWithALineBreakCannotForgeALogLineOrRecord) {
  const std::string forged =
      "x\n2026-01-01T00:00:00.000Z I release allowed key=root-disk v1 actor=machine:vm";
  auto stub = broker_->ReleaseStub();
  v1::ReleaseKeyRequest request;
  request.set_key_id(forged);
  request.set_challenge_id("c");
  grpc::ClientContext ctx;
  v1::ReleaseKeyResponse response;
  grpc::Status s = stub->ReleaseKey(&ctx, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  absl::SleepFor(absl::Seconds(2.5));  // the tally is written every second here
  const std::string log = *ReadFile(broker_->Path("keybrokerd.log"));
  EXPECT_THAT(log, Not(HasSubstr("\n2026-01-01T00:00:00.000Z I release allowed key=root-disk")));
  EXPECT_THAT(log, HasSubstr("x\\x0a2026-01-01"));
  bool found = false;
  for (const v1::AuditEvent& e : AuditEvents("peer-address:")) {
    EXPECT_THAT(e.reason(), Not(HasSubstr("\n")));
    EXPECT_THAT(e.key_id(), Not(HasSubstr("\n")));
    found = found || absl::StrContains(e.reason(), "key_id may contain only");
  }
  EXPECT_TRUE(found) << "the refusal is counted in the audit";
}

// Weakness 4: refusals before any evidence is checked are counted, not one record each.
TEST_F(HostileRequestsTest, MalformedReleasesDoNotGrowTheAuditPerRequest) {
  const uint64_t before = AuditRecords();
  auto stub = broker_->ReleaseStub();
  for (int i = 0; i < 500; ++i) {
    v1::ReleaseKeyRequest request;
    request.set_key_id("audit-flood");
    request.set_challenge_id(absl::StrCat("no-such-challenge-", i));
    request.mutable_evidence()->mutable_tpm_quote()->set_attest("q");
    request.mutable_transfer_key()->set_spki_der("k");
    grpc::ClientContext ctx;
    v1::ReleaseKeyResponse response;
    ASSERT_EQ(stub->ReleaseKey(&ctx, request, &response).error_code(), grpc::StatusCode::ABORTED);
  }
  absl::SleepFor(absl::Seconds(2.5));  // the tally is written every second here
  const uint64_t after = AuditRecords();
  // The requests took a few intervals: a few count records (and the audit's own verify_audit).
  EXPECT_LE(after - before, 10u) << "500 refusals added " << (after - before) << " records";
  int counted = 0;
  for (const v1::AuditEvent& e : AuditEvents("peer-address:127.0.0.1")) {
    if (!absl::StrContains(e.reason(), "challenge unknown or already used")) continue;
    counted += std::stoi(e.reason().substr(0, e.reason().find(' ')));
  }
  EXPECT_EQ(counted, 500);
  EXPECT_LE(CountLogLines(*broker_, "refused before evidence was checked"), 2);
}

// GetChallenge is bounded per client address (outstanding challenges).
TEST_F(HostileRequestsTest, ChallengesAreBoundedPerAddress) {
  auto stub = broker_->ReleaseStub();
  int issued = 0;
  grpc::Status last;
  for (int i = 0; i < kChallengesPerSource + 5; ++i) {
    v1::GetChallengeRequest request;
    request.set_key_id("quota-disk");
    v1::GetChallengeResponse response;
    grpc::ClientContext ctx;
    last = stub->GetChallenge(&ctx, request, &response);
    if (last.ok()) ++issued;
  }
  EXPECT_LE(issued, kChallengesPerSource);
  EXPECT_EQ(last.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(last.error_message(), HasSubstr("outstanding challenges"));
}

// Malformed protobuf and non-UTF-8 strings: INVALID_ARGUMENT naming the message, and no log
// line per request.
TEST_F(HostileRequestsTest, MalformedMessagesAreInvalidArgumentAndQuiet) {
  auto channel = ReleaseChannel();
  grpc::Status garbage =
      RawUnaryCall(channel, "/kb.v1.KeyRelease/ReleaseKey", "\xff\xff\xff\xff\x0f", nullptr);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(garbage.error_message(), HasSubstr("kb.v1.ReleaseKeyRequest"));
  grpc::Status activation =
      RawUnaryCall(channel, "/kb.v1.AttestationKeyActivation/StartActivation", "\x0a\xff", nullptr);
  EXPECT_EQ(activation.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(activation.error_message(), HasSubstr("kb.v1.StartActivationRequest"));
  v1::GetChallengeRequest bad_utf8;
  bad_utf8.set_key_id("\xc3\x28");
  std::string bytes;
  bad_utf8.SerializePartialToString(&bytes);
  for (int i = 0; i < 50; ++i) {
    grpc::Status s = RawUnaryCall(channel, "/kb.v1.KeyRelease/GetChallenge", bytes, nullptr);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("kb.v1.GetChallengeRequest"));
  }
  EXPECT_LE(CountLogLines(*broker_, " protobuf "), 2);
}

// The admin API parses its requests as the release API does: an operator's malformed request
// (a client built from another proto) is told which message it got wrong, not an empty
// UNIMPLEMENTED as gRPC's own parsing answers; the next call on the channel is served.
TEST_F(HostileRequestsTest, MalformedAdminRequestsAreInvalidArgument) {
  auto channel = broker_->AdminChannel();
  grpc::Status create =
      RawUnaryCall(channel, "/kb.v1.KeyAdmin/CreateKey", "\xff\xff\xff\xff\x0f", nullptr);
  EXPECT_EQ(create.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(create.error_message(), HasSubstr("kb.v1.CreateKeyRequest"));
  v1::DenyMachineRequest bad_utf8;
  bad_utf8.set_machine("\xc3\x28");
  std::string bytes;
  bad_utf8.SerializePartialToString(&bytes);
  grpc::Status deny = RawUnaryCall(channel, "/kb.v1.KeyAdmin/DenyMachine", bytes, nullptr);
  EXPECT_EQ(deny.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(deny.error_message(), HasSubstr("kb.v1.DenyMachineRequest"));
  std::string answer;
  grpc::Status list = RawUnaryCall(channel, "/kb.v1.KeyAdmin/ListKeys", "", &answer);
  EXPECT_TRUE(list.ok()) << list.error_message();
  v1::ListKeysResponse keys;
  EXPECT_TRUE(keys.ParseFromString(answer));
}

// Weakness 3: a certificate whose CN spells an operator's DN gets none of its roles; a SAN URI
// identity works.
TEST_F(HostileRequestsTest, ACommonNameSpellingADnGetsNoRole) {
  grpc::ClientContext ctx;
  v1::ListKeysResponse keys;
  grpc::Status s = broker_->AdminStub("impostor")->ListKeys(&ctx, {}, &keys);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("has roles: none"));
  grpc::ClientContext ctx2;
  v1::ListAuditEventsResponse events;
  grpc::Status by_uri = broker_->AdminStub("sam")->ListAuditEvents(&ctx2, {}, &events);
  EXPECT_THAT(by_uri, IsOk()) << by_uri.error_message();
}

// Weakness 5: a rule pinning only unmeasured PCR values is refused.
TEST_F(HostileRequestsTest, APolicyOfUnmeasuredPcrValuesIsRefused) {
  auto admin = broker_->AdminStub();
  {
    grpc::ClientContext ctx;
    v1::CreateKeyRequest create;
    create.set_key_id("weak-disk");
    v1::KeyMetadata meta;
    ASSERT_THAT(admin->CreateKey(&ctx, create, &meta), IsOk());
  }
  grpc::ClientContext ctx;
  v1::SetPolicyRequest policy;
  policy.set_key_id("weak-disk");
  policy.set_policy_json(absl::StrCat(R"({"allow":[{"pcrs":[{"index":9,"allowed":[")",
                                      std::string(64, '0'), R"("]}]}]})"));
  v1::SetPolicyResponse response;
  grpc::Status s = admin->SetPolicy(&ctx, policy, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("all zeros or all ones"));
}

}  // namespace
}  // namespace kb
