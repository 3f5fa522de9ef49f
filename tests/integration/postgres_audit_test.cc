// The audit chain of PostgreSQL replicas on a real server: one linear chain under concurrent
// writers in several replicas, also with a replica of schema version 3 appending during an
// upgrade, `audit verify` naming reordered and removed records, and a refused batch that keeps
// nothing and leaves the chain whole.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
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

// How a keybrokerd of schema version 3 appended a record (before db44382), rebuilt from its
// statements: in a transaction of its own, the advisory lock "kbaudit", the chain's head, the
// record linked by keybrokerd's AuditRecordHash, the insert, the commit.
absl::Status AppendAsVersion3(PgConnection& conn, AuditRecord record) {
  AuditRecord r = SanitizedForAudit(std::move(record));
  PgTransaction tx(conn);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(PgResult head,
                   conn.Script("SELECT pg_advisory_xact_lock(118070286050409); "
                               "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"));
  r.id = head.rows() == 0 ? 1 : static_cast<uint64_t>(head.Int(0, 0)) + 1;
  r.prev_hash = head.rows() == 0 ? std::string(kAuditGenesisHash) : head.Text(0, 1);
  r.hash = AuditRecordHash(r);
  absl::SleepFor(absl::Milliseconds(1));  // the lock held across a round trip, as it was then
  RETURN_IF_ERROR(
      conn.Exec("INSERT INTO audit(id, time, actor, action, key_id, key_version, decision, "
                "reason, evidence_digest, policy_version, prev_hash, hash) VALUES($1, $2, $3, $4, "
                "$5, $6, $7, $8, $9, $10, $11, $12)",
                {PgParam::Int(static_cast<int64_t>(r.id)), PgParam::Int(absl::ToUnixMillis(r.time)),
                 PgParam::Text(r.actor), PgParam::Text(r.action), PgParam::Text(r.key_id),
                 PgParam::Int(r.key_version), PgParam::Text(r.decision), PgParam::Text(r.reason),
                 PgParam::Text(r.evidence_digest),
                 PgParam::Int(static_cast<int64_t>(r.policy_version)), PgParam::Text(r.prev_hash),
                 PgParam::Text(r.hash)})
          .status());
  return tx.Commit();
}

// During an upgrade (docs/deployment.md) replicas of version 3 and 4 may append at once: both
// take the same lock and hash the same bytes, so the chain stays one.
TEST_F(PostgresAuditTest, ReplicasOfSchemaVersion3And4AppendingAtOnceKeepOneChain) {
  BrokerStores v4[2] = {Replica(), Replica()};
  constexpr int kThreads = 6, kEach = 30;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto v3 = PgConnection::Connect(server_->Dsn(), {});
      if (!v3.ok()) {
        ++failed;
        ADD_FAILURE() << v3.status();
      }
      for (int i = 0; i < kEach && v3.ok(); ++i) {
        AuditRecord r = AllowedRelease(absl::StrCat("machine:v", t % 2 == 0 ? 3 : 4, "-", t),
                                       absl::StrCat("record ", i, " \"quoted\", {braced}"));
        r.key_version = 1 + i % 3;
        r.evidence_digest = std::string(64, 'a' + t);
        const absl::Status s =
            t % 2 == 0 ? AppendAsVersion3(**v3, r) : v4[t / 2 % 2].audit->Append(r);
        if (!s.ok()) {
          ++failed;
          ADD_FAILURE() << s;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  auto report = v4[0].audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->problem << " at record " << report->first_bad_id;
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kEach));
  for (const char* version : {"machine:v3-0", "machine:v4-1"}) {
    auto listed = v4[1].audit->List({.limit = 100, .actor = version});
    ASSERT_THAT(listed, IsOk());
    EXPECT_EQ(listed->size(), static_cast<size_t>(kEach)) << version;
  }
  // The two kinds of writer did take turns: records of each link to records of the other.
  auto all = v4[1].audit->List({.limit = kThreads * kEach});
  ASSERT_THAT(all, IsOk());
  int v3_after_v4 = 0, v4_after_v3 = 0;
  for (size_t i = 1; i < all->size(); ++i) {  // newest first: (*all)[i] came before (*all)[i - 1]
    const bool earlier_v3 = absl::StartsWith((*all)[i].actor, "machine:v3-");
    const bool later_v3 = absl::StartsWith((*all)[i - 1].actor, "machine:v3-");
    v3_after_v4 += later_v3 && !earlier_v3;
    v4_after_v3 += !later_v3 && earlier_v3;
  }
  EXPECT_GT(v3_after_v4, 0);
  EXPECT_GT(v4_after_v3, 0);
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

// A row numbered below 1, which the pages of the chain's check would not reach but `audit
// list` shows, is reported: nothing but kb_audit_append numbers records, and it starts at 1.
TEST_F(PostgresAuditTest, AuditVerifyFindsARecordNumberedBelowTheChain) {
  BrokerStores pg = Replica();
  ASSERT_THAT(pg.audit->Append(AllowedRelease("machine:vm", "record 1")), IsOk());
  ASSERT_EQ(server_
                ->Psql("INSERT INTO audit SELECT -1, time, 'machine:forged', action, key_id, "
                       "key_version, decision, reason, evidence_digest, policy_version, "
                       "prev_hash, hash FROM audit WHERE id = 1")
                .exit_code,
            0);
  auto report = pg.audit->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->ok);
  EXPECT_THAT(report->problem, HasSubstr("a record numbered -1 is outside the chain"));
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
