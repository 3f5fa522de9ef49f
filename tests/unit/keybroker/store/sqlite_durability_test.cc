// The durability settings of the broker database: challenge writes skip the fsync and leave
// the connection synchronous again; audit appends from many threads are group-committed into
// one linear chain.
#include <unistd.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

class SqliteDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-durability-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = *OpenBrokerDatabase(dir_ + "/broker.db");
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  int64_t Synchronous() {
    auto lock = db_->Lock();
    auto st = db_->Prepare("PRAGMA synchronous");
    EXPECT_THAT(st, IsOk());
    EXPECT_TRUE(*st->Step());
    return st->Int(0);
  }

  std::string dir_;
  std::shared_ptr<SqliteDb> db_;
};

constexpr int64_t kSynchronousOff = 0;
constexpr int64_t kSynchronousFull = 2;

TEST_F(SqliteDurabilityTest, UnsyncedScopeRestoresFullSync) {
  EXPECT_EQ(Synchronous(), kSynchronousFull);
  {
    auto lock = db_->Lock();
    SqliteUnsyncedWrites unsynced(*db_);
    ASSERT_THAT(unsynced.status(), IsOk());
    auto st = db_->Prepare("PRAGMA synchronous");
    ASSERT_THAT(st, IsOk());
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->Int(0), kSynchronousOff);
  }
  EXPECT_EQ(Synchronous(), kSynchronousFull);
}

TEST_F(SqliteDurabilityTest, GroupCommittedAppendsKeepEachThreadsOrder) {
  SqliteAuditLog audit(db_);
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&audit, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord r;
        r.time = absl::Now();
        r.actor = absl::StrCat("machine:t", t);
        r.action = "release";
        r.decision = "allow";
        r.reason = absl::StrCat(i);
        EXPECT_THAT(audit.Append(r), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto report = audit.Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, uint64_t{kThreads * kPerThread});
  auto records = audit.List(AuditQuery{.limit = kThreads * kPerThread});
  ASSERT_THAT(records, IsOk());
  std::vector<int> next(kThreads, kPerThread - 1);  // newest first
  for (const AuditRecord& r : *records) {
    const int t = r.actor.back() - '0';
    EXPECT_EQ(r.reason, absl::StrCat(next[t]--)) << r.actor;
  }
}

}  // namespace
}  // namespace kb
