// The audit chain of PostgreSQL replicas on a real server: one linear chain under concurrent
// writers in several replicas, `audit verify` naming reordered and removed records, and a
// refused batch that keeps nothing and leaves the chain whole.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/postgres_store_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class PostgresAuditTest : public PostgresStoreFixture {};

TEST_F(PostgresAuditTest, TheAuditChainStaysLinearWithConcurrentReplicas) {
  BrokerStores replicas[3] = {Replica(), Replica(), Replica()};
  constexpr int kThreads = 6, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        AuditRecord r = AllowedRelease(absl::StrCat("machine:vm-", t), absl::StrCat("record ", i));
        r.key_version = 1;
        if (!replicas[t % 3].audit->Append(r).ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  auto report = replicas[0].audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kEach));
  auto latest = replicas[1].audit->LatestReleases("disk");
  ASSERT_THAT(latest, IsOk());
  EXPECT_EQ(latest->size(), static_cast<size_t>(kThreads));
  auto listed = replicas[2].audit->List({.limit = 5, .actor = "machine:vm-2"});
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->size(), 5u);
  // Pages of 15 below the previous page's oldest id: all 40 of vm-2's records, newest first.
  std::vector<uint64_t> paged;
  for (uint64_t before = 0;;) {
    auto page = replicas[paged.size() % 3].audit->List(
        {.limit = 15, .actor = "machine:vm-2", .before_id = before});
    ASSERT_THAT(page, IsOk());
    for (const AuditRecord& r : *page) paged.push_back(r.id);
    if (page->size() < 15) break;
    before = page->back().id;
  }
  ASSERT_EQ(paged.size(), static_cast<size_t>(kEach));
  for (size_t i = 1; i < paged.size(); ++i) EXPECT_LT(paged[i], paged[i - 1]);
  // Append-only in the database itself, and tampering shows in Verify.
  EXPECT_NE(server_->Psql("UPDATE audit SET reason = 'x' WHERE id = 3").exit_code, 0);
  ASSERT_EQ(server_
                ->Psql("ALTER TABLE audit DISABLE TRIGGER audit_append_only; UPDATE audit SET "
                       "reason = 'forged' WHERE id = 7")
                .exit_code,
            0);
  report = replicas[2].audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_id, 7u);
}

TEST_F(PostgresAuditTest, AuditVerifyNamesReorderedAndRemovedRecords) {
  BrokerStores pg = Replica();
  for (int i = 0; i < 6; ++i) {
    ASSERT_THAT(pg.audit->Append(AllowedRelease("machine:vm", absl::StrCat("record ", i + 1))),
                IsOk());
  }
  // Records 2 and 4 swap places.
  ASSERT_EQ(server_
                ->Psql("ALTER TABLE audit DISABLE TRIGGER audit_append_only; UPDATE audit SET "
                       "id = -1 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 4; UPDATE audit "
                       "SET id = 4 WHERE id = -1")
                .exit_code,
            0);
  auto report = pg.audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_id, 2u);
  EXPECT_THAT(report->problem,
              HasSubstr("records were reordered: its prev_hash is the hash of record 3"));
  // The swapped records and record 5 removed: the first gap is named.
  ASSERT_EQ(server_->Psql("DELETE FROM audit WHERE id IN (2, 4); DELETE FROM audit WHERE id = 5")
                .exit_code,
            0);
  report = pg.audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_id, 3u);
  EXPECT_THAT(report->problem, HasSubstr("record 2 before it was removed"));
}

// A record the database refuses fails its whole batch (one statement links and inserts it):
// nothing of that batch is kept, the chain stays whole and the connection serves the next
// batch.
TEST_F(PostgresAuditTest, ARefusedAuditBatchKeepsNothingAndTheChainWhole) {
  BrokerStores pg = Replica();
  ASSERT_EQ(
      server_->Psql("ALTER TABLE audit ADD CONSTRAINT no_evil CHECK (actor <> 'evil')").exit_code,
      0);
  std::atomic<int> appended{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool evil = t == 0 && i % 4 == 0;
        absl::Status s = pg.audit->Append(AllowedRelease(evil ? "evil" : "machine:vm"));
        ++(s.ok() ? appended : refused);
        if (evil) {
          EXPECT_THAT(s.message(), HasSubstr("no_evil"));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_GE(refused.load(), 5);
  ASSERT_THAT(pg.audit->Append(AllowedRelease("machine:after")), IsOk());
  auto report = pg.audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, static_cast<uint64_t>(appended.load()) + 1);
}

// kb_audit_append takes each column as an array literal: the characters that literal gives a
// meaning to (quotes, backslashes, braces, commas, NULL, blanks) come back as they went in,
// and the database's hashes are the ones `audit verify` recomputes.
TEST_F(PostgresAuditTest, FieldsWithTheArrayLiteralsSyntaxRoundTrip) {
  BrokerStores pg = Replica();
  const std::vector<AuditRecord> records = {
      AllowedRelease("machine:a\"b\\c{d},e", "said \"no\", \\N {x} , y"),
      AllowedRelease("NULL", ""), AllowedRelease(" padded ", "{}")};
  std::vector<std::thread> threads;
  for (const AuditRecord& r : records) {
    threads.emplace_back([&pg, r] { EXPECT_THAT(pg.audit->Append(r), IsOk()); });
  }
  for (std::thread& t : threads) t.join();
  auto listed = pg.audit->List({.limit = 10});
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), records.size());
  for (const AuditRecord& r : records) {
    const AuditRecord stored = SanitizedForAudit(r);
    EXPECT_THAT(*listed, ::testing::Contains(::testing::AllOf(
                             ::testing::Field(&AuditRecord::actor, stored.actor),
                             ::testing::Field(&AuditRecord::reason, stored.reason))))
        << stored.actor;
  }
  auto report = pg.audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, records.size());
}

}  // namespace
}  // namespace kb
