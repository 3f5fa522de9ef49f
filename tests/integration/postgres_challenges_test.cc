// Challenges of PostgreSQL replicas on a real server: self-authenticating, so issuing one
// writes nothing; redeemed once across replicas, whichever path spends them (the one-statement
// release read or the spend after a refusal); refused when altered, made for another key id,
// expired by the database's clock, or a row of the old challenges table; spent ones swept by
// the database's clock; one MAC key for all replicas, stored only sealed.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/postgres_store_fixture.h"

namespace kb {
namespace {

class PostgresChallengesTest : public PostgresStoreFixture {
 protected:
  static std::string Count(const std::string& table) {
    return server_->Psql(absl::StrCat("SELECT count(*) FROM ", table)).output;
  }
};

const absl::Duration kTtl = absl::Minutes(1);

TEST_F(PostgresChallengesTest, IssuedByOneReplicaRedeemedOnceAtAnother) {
  BrokerStores a = Replica(), b = Replica();
  auto c = a.challenges->New("disk", absl::Now() + kTtl);
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(a.challenges->Put(*c, absl::Now()), IsOk());
  EXPECT_EQ(Count("spent_challenges"), "0\n");  // issuing wrote nothing
  auto redeemed = b.challenges->Consume(c->id, "disk");
  ASSERT_THAT(redeemed, IsOk());
  EXPECT_EQ(redeemed->nonce, c->nonce);
  EXPECT_EQ(redeemed->expires_at, c->expires_at);
  EXPECT_THAT(a.challenges->Consume(c->id, "disk"), StatusIs(absl::StatusCode::kNotFound));
  // The same id in uppercase is the same challenge, through either path.
  EXPECT_THAT(b.challenges->Consume(absl::AsciiStrToUpper(c->id), "disk"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(b.release_reads->Read({absl::AsciiStrToUpper(c->id), "disk", 0, "vm-1", ""})
                   ->challenge.has_value());
  EXPECT_EQ(Count("spent_challenges"), "1\n");
}

TEST_F(PostgresChallengesTest, AlteredForAnotherKeyOrAnOldRowIsUnknown) {
  BrokerStores a = Replica(), b = Replica();
  auto c = a.challenges->New("disk", absl::Now() + kTtl);
  EXPECT_THAT(b.challenges->Consume(c->id, "other"), StatusIs(absl::StatusCode::kNotFound));
  std::string altered = c->id;
  altered[40] = altered[40] == '0' ? '1' : '0';
  EXPECT_THAT(b.challenges->Consume(altered, "disk"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(b.challenges->Consume(std::string(64, 'a'), "disk"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Count("spent_challenges"), "0\n");  // none of them spent anything
  EXPECT_THAT(b.challenges->Consume(c->id, "disk"), IsOk());
  // A row in the challenges table (what replicas of schema version 2 wrote) is no challenge.
  ASSERT_EQ(server_
                ->Psql("INSERT INTO challenges(id, key_id, nonce, expires_at) VALUES "
                       "('v2', 'disk', '\\x6e6e', 9999999999999)")
                .exit_code,
            0);
  EXPECT_THAT(b.challenges->Consume("v2", "disk"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(b.release_reads->Read({"v2", "disk", 0, "vm-1", ""})->challenge.has_value());
}

TEST_F(PostgresChallengesTest, ConcurrentRedemptionsThroughThreeReplicasAndBothPathsWinOnce) {
  BrokerStores a = Replica(), b = Replica(), c = Replica();
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  BrokerStores* replicas[] = {&a, &b, &c};
  for (int round = 0; round < 20; ++round) {
    const std::string id = replicas[round % 3]->challenges->New("disk", absl::Now() + kTtl)->id;
    std::atomic<int> won{0}, lost{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      BrokerStores* r = replicas[t % 3];
      threads.emplace_back([&, r, t] {
        const bool ok =
            t % 2 == 0 ? r->challenges->Consume(id, "disk").ok()
                       : r->release_reads->Read({id, "disk", 0, "vm-1", ""})->challenge.has_value();
        (ok ? won : lost)++;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << id;
    EXPECT_EQ(lost.load(), 5) << id;
  }
}

TEST_F(PostgresChallengesTest, OneExpiredByTheDatabasesClockIsNotSpent) {
  BrokerStores a = Replica();
  // Whatever the redeeming replica's clock says: this one's is the test's, and its expiry is
  // past by the database's clock too.
  auto expired = a.challenges->New("disk", absl::Now() - absl::Seconds(1));
  EXPECT_THAT(a.challenges->Consume(expired->id, "disk"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(a.release_reads->Read({expired->id, "disk", 0, "vm-1", ""})->challenge);
  EXPECT_EQ(Count("spent_challenges"), "0\n");
}

TEST_F(PostgresChallengesTest, SpentOnesAreSweptByTheDatabasesClockPastTheMargin) {
  BrokerStores a = Replica();
  ASSERT_EQ(
      server_
          ->Psql(absl::StrCat(
              "INSERT INTO spent_challenges VALUES ('recent', ",
              absl::ToUnixMillis(absl::Now() - absl::Minutes(1)), "), ('old', ",
              absl::ToUnixMillis(absl::Now() - kSpentChallengeMargin - absl::Minutes(1)), ")"))
          .exit_code,
      0);
  auto held = [&](const std::string& id) {
    return server_
               ->Psql(absl::StrCat("SELECT count(*) FROM spent_challenges WHERE id = '", id, "'"))
               .output == "1\n";
  };
  // The sweep runs before every 256th spend of a replica, on either path.
  for (int i = 0; i < 255; ++i) {
    const std::string id = a.challenges->New("disk", absl::Now() + kTtl)->id;
    if (i % 2 == 0) {
      ASSERT_THAT(a.challenges->Consume(id, "disk"), IsOk());
    } else {
      ASSERT_TRUE(a.release_reads->Read({id, "disk", 0, "vm-1", ""})->challenge.has_value());
    }
  }
  EXPECT_TRUE(held("old"));
  ASSERT_THAT(a.challenges->Consume(a.challenges->New("disk", absl::Now() + kTtl)->id, "disk"),
              IsOk());
  EXPECT_FALSE(held("old"));
  EXPECT_TRUE(held("recent"));
  EXPECT_EQ(Count("spent_challenges"), "257\n");  // 'recent' and the 256 spent here
}

TEST_F(PostgresChallengesTest, AFailedSweepDoesNotFailTheSpendItPrecedes) {
  BrokerStores a = Replica();
  ASSERT_EQ(server_
                ->Psql("CREATE FUNCTION kb_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'no deletes today'; END $$; "
                       "CREATE TRIGGER kb_test_no_delete BEFORE DELETE ON spent_challenges "
                       "FOR EACH STATEMENT EXECUTE FUNCTION kb_test_refuse()")
                .exit_code,
            0);
  for (int i = 0; i < 256; ++i) {  // the 256th spend runs the sweep first, which fails
    ASSERT_THAT(a.challenges->Consume(a.challenges->New("disk", absl::Now() + kTtl)->id, "disk"),
                IsOk())
        << "spend " << i + 1;
  }
  EXPECT_EQ(Count("spent_challenges"), "256\n");
}

TEST_F(PostgresChallengesTest, OneMacKeyForEveryReplicaStoredOnlySealed) {
  BrokerStores a = Replica(), b = Replica();
  auto c = b.challenges->New("disk", absl::Now() + kTtl);
  EXPECT_THAT(a.challenges->Consume(c->id, "disk"), IsOk());
  CommandResult keys = server_->Psql(
      "SELECT count(*), min(length(challenge_key)) > 32 FROM keks WHERE challenge_key IS NOT "
      "NULL");
  EXPECT_EQ(keys.output, "1|t\n");  // one copy, sealed (longer than the 32-byte key)
  // Replicas starting together agree on one key.
  ASSERT_EQ(server_->Psql("UPDATE keks SET challenge_key = NULL").exit_code, 0);
  std::vector<BrokerStores> started(4);
  std::vector<std::thread> starts;
  for (int i = 0; i < 4; ++i) starts.emplace_back([&, i] { started[i] = Replica(); });
  for (auto& t : starts) t.join();
  for (int i = 0; i < 4; ++i) {
    auto made = started[i].challenges->New("disk", absl::Now() + kTtl);
    EXPECT_THAT(started[(i + 1) % 4].challenges->Consume(made->id, "disk"), IsOk()) << i;
  }
  // The key from before is gone with its row: challenges it made are unknown now.
  EXPECT_THAT(
      started[0].challenges->Consume(a.challenges->New("disk", absl::Now() + kTtl)->id, "disk"),
      StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace kb
