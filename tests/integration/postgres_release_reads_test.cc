// PgReleaseReads (the store's part of a release in one statement) against the same calls made
// one by one (SeparateReleaseReads) over the same PostgreSQL server, started by the test: every
// case a release distinguishes, the challenge spent once across replicas, the machine found
// from an attestation key's registration, and a change made through another replica seen by
// the next read.
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/postgres_store_fixture.h"
#include "tests/support/release_reads_comparison.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

class PostgresReleaseReadsTest : public PostgresStoreFixture {
 protected:
  // Two replicas over one empty database.
  void SetUp() override {
    PostgresStoreFixture::SetUp();
    a_ = Replica();
    b_ = Replica();
    ASSERT_NE(b_.release_reads, nullptr);
  }
  std::string Issue(const std::string& key) { return ReleaseReadsComparison(a_, b_).Issue(key); }

  BrokerStores a_, b_;
};

// Changes made through replica A, read by replica B.
TEST_F(PostgresReleaseReadsTest, OneQueryReadsWhatTheSeparateReadsRead) {
  ReleaseReadsComparison(a_, b_).ExpectEveryCaseReadAlike();
}

TEST_F(PostgresReleaseReadsTest, AChallengeIsSpentOnceWhicheverReplicaReads) {
  ASSERT_THAT(a_.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  const std::string id = Issue("disk");
  auto first = b_.release_reads->Read({id, "disk", 0, "vm-1", ""});
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->challenge.has_value());
  EXPECT_EQ(first->challenge->id, id);
  EXPECT_EQ(first->machine, "vm-1");
  EXPECT_TRUE(first->key.has_value());
  for (BrokerStores* replica : {&a_, &b_}) {
    auto again = replica->release_reads->Read({id, "disk", 0, "vm-1", ""});
    ASSERT_THAT(again, IsOk());
    EXPECT_FALSE(again->challenge.has_value());
    EXPECT_FALSE(again->key.has_value());  // nothing is read for a spent challenge
  }
  EXPECT_FALSE(b_.release_reads->Read({"never-issued", "disk", 0, "vm-1", ""})->challenge);
  // The one-by-one reads spend through the same table.
  EXPECT_TRUE(absl::IsNotFound(b_.challenges->Consume(id, "disk").status()));
  // A challenge made for another key is not one for this key: unknown, and not spent.
  const std::string other = Issue("other");
  EXPECT_FALSE(b_.release_reads->Read({other, "disk", 0, "vm-1", ""})->challenge.has_value());
  EXPECT_TRUE(b_.release_reads->Read({other, "other", 0, "vm-1", ""})->challenge.has_value());
}

TEST_F(PostgresReleaseReadsTest, TheMachineIsTheOneTheAttestationKeysRegistrationNames) {
  ReleaseReadsComparison(a_, b_).ExpectTheMachineOfTheRegistration();
}

TEST_F(PostgresReleaseReadsTest, UnavailableWhileTheDatabaseIsDown) {
  ASSERT_THAT(a_.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  const std::string id = Issue("disk");
  ASSERT_THAT(server_->Stop(/*immediate=*/true), IsOk());
  auto read = b_.release_reads->Read({id, "disk", 0, "vm-1", ""});
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  // Back by itself.
  auto after = b_.release_reads->Read({"no-such-challenge", "disk", 0, "vm-1", ""});
  ASSERT_THAT(after, IsOk());
  EXPECT_FALSE(after->challenge.has_value());
}

}  // namespace
}  // namespace kb
