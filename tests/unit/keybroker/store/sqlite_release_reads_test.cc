// SqliteReleaseReads (a release's reads under one lock, in one read transaction) against the same
// reads made one by one through the role interfaces, over one SQLite database: every case a
// release distinguishes, the machine of an attestation key's registration, the challenge spent
// once, and the connection left usable when a read fails.
#include "keybroker/store/sqlite_release_reads.h"

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/kek.h"
#include "keybroker/store/memory_challenge_store.h"
#include "tests/support/release_reads_comparison.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

KekSet TestKeks() {
  KekSet keks;
  keks.current = *AesKek::Create(*RandomSecret(32), "test KEK");
  return keks;
}

class SqliteReleaseReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stores = OpenSqliteStores(":memory:", TestKeks());
    ASSERT_THAT(stores, IsOk());
    stores_ = *std::move(stores);
    ASSERT_NE(stores_.release_reads, nullptr);
  }
  BrokerStores stores_;
};

TEST_F(SqliteReleaseReadsTest, OneReadTransactionReadsWhatTheSeparateReadsRead) {
  ReleaseReadsComparison(stores_, stores_).ExpectEveryCaseReadAlike();
}

TEST_F(SqliteReleaseReadsTest, TheMachineIsTheOneTheAttestationKeysRegistrationNames) {
  ReleaseReadsComparison(stores_, stores_).ExpectTheMachineOfTheRegistration();
}

TEST_F(SqliteReleaseReadsTest, AChallengeIsSpentOnce) {
  KeyRecord key;
  key.key_id = "disk";
  key.size_bytes = 32;
  ASSERT_THAT(stores_.keys->CreateKey(key, *RandomSecret(32)), IsOk());
  const std::string id = ReleaseReadsComparison(stores_, stores_).Issue("disk");
  auto first = stores_.release_reads->Read({id, "disk", 0, "vm-1", ""});
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->challenge.has_value());
  EXPECT_EQ(first->machine, "vm-1");
  EXPECT_TRUE(first->key.has_value());
  auto again = stores_.release_reads->Read({id, "disk", 0, "vm-1", ""});
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->challenge.has_value());
  EXPECT_FALSE(again->key.has_value());  // nothing is read for a spent challenge
  // A challenge made for another key comes back with that key id, for the release to refuse
  // ("issued for another key id"), and is spent all the same.
  const std::string other = ReleaseReadsComparison(stores_, stores_).Issue("other");
  auto misused = stores_.release_reads->Read({other, "disk", 0, "vm-1", ""});
  ASSERT_THAT(misused, IsOk());
  ASSERT_TRUE(misused->challenge.has_value());
  EXPECT_EQ(misused->challenge->key_id, "other");
  EXPECT_FALSE(stores_.release_reads->Read({other, "other", 0, "vm-1", ""})->challenge);
}

// The sealed material is read in the transaction and opened later: a KEK rotation between the
// two still opens it, since a rotating broker keeps the previous KEK until nothing needs it.
TEST(SqliteReleaseReadsRotationTest, MaterialReadBeforeARewrapStillOpens) {
  auto db = OpenBrokerDatabase(":memory:");
  ASSERT_THAT(db, IsOk());
  auto old_kek = RandomSecret(32);
  ASSERT_THAT(old_kek, IsOk());
  auto before = SqliteKeyStore::Create(*db, *AesKek::Create(old_kek->Clone(), "old KEK"));
  ASSERT_THAT(before, IsOk());
  KeyRecord key;
  key.key_id = "disk";
  key.size_bytes = 32;
  auto material = RandomSecret(32);
  ASSERT_THAT(material, IsOk());
  ASSERT_THAT((*before)->CreateKey(key, *material), IsOk());
  KekSet keks;
  keks.current = *AesKek::Create(*RandomSecret(32), "new KEK");
  keks.previous.push_back(*AesKek::Create(old_kek->Clone(), "old KEK"));
  auto rotating = SqliteKeyStore::Create(*db, std::move(keks));
  ASSERT_THAT(rotating, IsOk());
  MemoryChallengeStore challenges;
  SqliteReleaseReads reads(*db, &challenges, rotating->get(), nullptr);
  auto c = challenges.New("disk", absl::Now() + absl::Minutes(1));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(challenges.Put(*c, absl::Now()), IsOk());

  auto read = reads.Read({c->id, "disk", 0, "vm-1", ""});
  ASSERT_THAT(read, IsOk());
  auto step = (*rotating)->RewrapUnderCurrentKek(100);
  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->rewrapped, 1u);
  EXPECT_EQ(step->remaining, 0u);
  auto opened = read->material();
  ASSERT_THAT(opened, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*opened, *material));
}

// A read that fails inside the read transaction ends it: the connection's next write begins.
TEST(SqliteReleaseReadsFailureTest, AFailedReadLeavesNoTransactionOpen) {
  auto db = OpenBrokerDatabase(":memory:");
  ASSERT_THAT(db, IsOk());
  auto keys = SqliteKeyStore::Create(*db, TestKeks());
  ASSERT_THAT(keys, IsOk());
  MemoryChallengeStore challenges;
  SqliteReleaseReads reads(*db, &challenges, keys->get(), nullptr);
  ASSERT_THAT((*db)->Exec("DROP TABLE denied_machines"), IsOk());
  auto c = challenges.New("disk", absl::Now() + absl::Minutes(1));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(challenges.Put(*c, absl::Now()), IsOk());

  auto read = reads.Read({c->id, "disk", 0, "vm-1", ""});
  EXPECT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), testing::HasSubstr("denied_machines"));
  auto lock = (*db)->Lock();
  SqliteTransaction write(**db);
  EXPECT_THAT(write.status(), IsOk());
  EXPECT_THAT(write.Commit(), IsOk());
}

}  // namespace
}  // namespace kb
