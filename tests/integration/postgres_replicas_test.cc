// Three real keybrokerd replicas on one real PostgreSQL, the KEK in a real SoftHSM2 token: a
// challenge issued by one replica is redeemed at another exactly once, a deny made on one holds
// on every other for the next release, two operators on two replicas cannot both win a policy
// compare-and-set, and guests releasing through all replicas lose no unlock when one replica is
// killed with SIGKILL (the audit chain verifies afterwards, every allowed release has its
// record).
#include <grpcpp/client_context.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/kek/pkcs11_kek.h"
#include "tests/integration/broker_guest.h"
#include "tests/support/postgres_server.h"
#include "tests/support/softhsm_token.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "ha-disk";
constexpr int kReplicas = 3;

class PostgresReplicasTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = PostgresServer::Start();
    ASSERT_THAT(pg, IsOk());
    pg_ = pg->release();
    auto token = SoftHsmToken::Create("kb-ha");
    ASSERT_THAT(token, IsOk());
    token_ = token->release();
    ASSERT_THAT(Pkcs11Kek::Generate({SoftHsmToken::kModule, "kb-ha", "kek"},
                                    SecretBytes::FromString(SoftHsmToken::kPin)),
                IsOk());
    BrokerProcess::Options options;
    options.store_config = pg_->StoreConfigJson();
    options.kek_config = token_->KekConfigJson("kek");
    for (int i = 0; i < kReplicas; ++i) {
      auto broker = BrokerProcess::Start(options);
      ASSERT_THAT(broker, IsOk());
      replicas_[i] = broker->release();
    }
    // The key and the policy made through replica 0, the guests' AKs registered through the
    // others: it is one database.
    guests_[0] = Guest(*replicas_[0], "g0", kKey).release();
    for (int i = 1; i < kReplicas; ++i) {
      guests_[i] = Guest(*replicas_[i], absl::StrCat("g", i), kKey, false).release();
    }
    const std::string policy = absl::StrCat(
        R"({"allow":[{"name":"r1","machines":["g0","g1","g2"],)",
        R"("pcrs":[{"index":7,"allowed":[")", HexEncode(std::string(32, '\x07')), R"("]}]}]})");
    CommandResult set = Ctl(*replicas_[2], {"policy", "set", kKey, "-"}, policy);
    ASSERT_EQ(set.exit_code, 0) << set.output;
  }
  static void TearDownTestSuite() {
    for (int i = 0; i < kReplicas; ++i) {
      delete guests_[i];
      delete replicas_[i];
    }
    delete token_;
    delete pg_;
  }
  void SetUp() override { ASSERT_NE(replicas_[kReplicas - 1], nullptr); }

  // GetChallenge at `issuer`, ReleaseKey at `redeemer`, with guest `g`'s evidence.
  static absl::StatusOr<v1::ReleaseKeyResponse> Release(int issuer, int redeemer, int g,
                                                        const std::string& key = kKey,
                                                        v1::ReleaseKeyRequest* sent = nullptr) {
    v1::GetChallengeRequest challenge_request;
    challenge_request.set_key_id(key);
    v1::GetChallengeResponse challenge;
    grpc::ClientContext c1;
    c1.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    RETURN_IF_ERROR(FromGrpcStatus(
        replicas_[issuer]->ReleaseStub()->GetChallenge(&c1, challenge_request, &challenge)));
    auto request = BuildRequest(*guests_[g], challenge.challenge_id(), challenge.nonce(), key);
    if (!request.ok()) return request.status();
    if (sent != nullptr) *sent = *request;
    return Redeem(redeemer, *request);
  }
  static absl::StatusOr<v1::ReleaseKeyResponse> Redeem(int redeemer,
                                                       const v1::ReleaseKeyRequest& request) {
    v1::ReleaseKeyResponse response;
    grpc::ClientContext c2;
    c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    RETURN_IF_ERROR(
        FromGrpcStatus(replicas_[redeemer]->ReleaseStub()->ReleaseKey(&c2, request, &response)));
    return response;
  }
  static int64_t Count(const std::string& sql) {
    CommandResult r = pg_->Psql(sql);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return std::stoll(r.output);
  }

  static PostgresServer* pg_;
  static SoftHsmToken* token_;
  static BrokerProcess* replicas_[kReplicas];
  static SoftwareTpm* guests_[kReplicas];
};

PostgresServer* PostgresReplicasTest::pg_ = nullptr;
SoftHsmToken* PostgresReplicasTest::token_ = nullptr;
BrokerProcess* PostgresReplicasTest::replicas_[kReplicas] = {};
SoftwareTpm* PostgresReplicasTest::guests_[kReplicas] = {};

TEST_F(PostgresReplicasTest, AChallengeIssuedByOneReplicaIsRedeemedAtAnotherOnce) {
  v1::ReleaseKeyRequest sent;
  auto released = Release(0, 1, 0, kKey, &sent);
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(released->version(), 1u);
  for (int again : {0, 1, 2}) {
    auto replayed = Redeem(again, sent);
    ASSERT_FALSE(replayed.ok()) << "replica " << again;
    EXPECT_THAT(std::string(replayed.status().message()), HasSubstr("challenge"))
        << "replica " << again;
  }
}

TEST_F(PostgresReplicasTest, ADenyOnOneReplicaHoldsOnEveryOtherForTheNextRelease) {
  ASSERT_THAT(Release(2, 2, 2), IsOk());
  CommandResult deny = Ctl(*replicas_[0], {"machine", "deny", "g2", "--reason", "test"});
  ASSERT_EQ(deny.exit_code, 0) << deny.output;
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_THAT(Release(r, r, 2), StatusIs(absl::StatusCode::kPermissionDenied)) << "replica " << r;
  }
  ASSERT_EQ(Ctl(*replicas_[1], {"machine", "allow", "g2"}).exit_code, 0);
  EXPECT_THAT(Release(2, 0, 2), IsOk());
  // A key disabled on one replica, the same.
  ASSERT_EQ(Ctl(*replicas_[0], {"key", "create", "ha-off"}).exit_code, 0);
  CommandResult policy = Ctl(*replicas_[1], {"policy", "get", kKey});
  ASSERT_EQ(policy.exit_code, 0) << policy.output;
  ASSERT_EQ(Ctl(*replicas_[1], {"policy", "set", "ha-off", "-"}, policy.output).exit_code, 0);
  ASSERT_THAT(Release(2, 0, 1, "ha-off"), IsOk());
  ASSERT_EQ(Ctl(*replicas_[2], {"key", "disable", "ha-off"}).exit_code, 0);
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_THAT(Release(r, (r + 1) % kReplicas, 1, "ha-off"), ::testing::Not(IsOk()))
        << "replica " << r;
  }
}

TEST_F(PostgresReplicasTest, TwoOperatorsOnTwoReplicasCannotBothWinACompareAndSet) {
  auto get = replicas_[0]->AdminStub();
  v1::GetPolicyRequest g;
  g.set_key_id(kKey);
  v1::GetPolicyResponse current;
  grpc::ClientContext gc;
  ASSERT_THAT(get->GetPolicy(&gc, g, &current), IsOk());
  std::atomic<int> won{0}, refused{0};
  std::vector<std::thread> operators;
  for (int r = 0; r < 2; ++r) {
    operators.emplace_back([&, r] {
      v1::SetPolicyRequest set;
      set.set_key_id(kKey);
      set.set_policy_json(current.policy_json());
      set.set_expected_version(current.policy_version());
      v1::SetPolicyResponse out;
      grpc::ClientContext ctx;
      grpc::Status s = replicas_[r]->AdminStub()->SetPolicy(&ctx, set, &out);
      if (!s.ok()) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
      }
      (s.ok() ? won : refused)++;
    });
  }
  for (auto& t : operators) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), 1);
}

TEST_F(PostgresReplicasTest, GuestsLoseNoUnlockWhenAReplicaIsKilled) {
  const int64_t allows_before =
      Count("SELECT COUNT(*) FROM audit WHERE action = 'release' AND decision = 'allow'");
  constexpr int kUnlocks = 12;
  std::atomic<int> unlocked{0}, failed{0}, attempts_failed{0};
  std::vector<std::thread> guests;
  for (int g = 0; g < kReplicas; ++g) {
    guests.emplace_back([&, g] {
      for (int i = 0; i < kUnlocks; ++i) {
        // Each guest is configured with every replica and tries them in turn.
        bool ok = false;
        for (int k = 0; k < kReplicas && !ok; ++k) {
          const int r = (g + i + k) % kReplicas;
          ok = Release(r, r, g).ok();
          if (!ok) ++attempts_failed;
        }
        (ok ? unlocked : failed)++;
      }
    });
  }
  while (unlocked.load() < kUnlocks) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  replicas_[1]->Kill();
  for (auto& t : guests) t.join();
  std::printf("%d unlocks, %d failed; %d attempts at the killed replica failed over\n",
              unlocked.load(), failed.load(), attempts_failed.load());
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(unlocked.load(), kReplicas * kUnlocks);
  // Every release answered as allowed has its record (one whose answer died with the replica
  // may add one more).
  EXPECT_GE(Count("SELECT COUNT(*) FROM audit WHERE action = 'release' AND decision = 'allow'"),
            allows_before + kReplicas * kUnlocks);
  CommandResult verify = Ctl(*replicas_[2], {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr("audit chain ok"));
  ASSERT_THAT(replicas_[1]->Resume(), IsOk());
  EXPECT_THAT(Release(1, 1, 1), IsOk());
}

}  // namespace
}  // namespace kb
