// PostgreSQL calls bounded when the server cannot answer, on a real server started by the
// test: a commit waiting for a synchronous standby that is gone (PostgreSQL's own
// statement_timeout does not cover that wait) fails within the reply timeout, its backend is
// asked to cancel, and the store recovers by itself.
#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/postgres/pg_stores.h"
#include "tests/integration/postgres_store_fixture.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class PostgresDeadlineTest : public PostgresStoreFixture {};

TEST_F(PostgresDeadlineTest, AnUnansweredCommitFailsWithinTheReplyTimeoutThenRecovers) {
  PgPool::Options options = Options();
  options.reply_timeout = absl::Seconds(1);
  auto stores = OpenPostgresStores(options, Keks(*kek_bytes_));
  ASSERT_THAT(stores, IsOk());
  absl::Cleanup restore = [&] { SetSynchronousStandby(""); };
  SetSynchronousStandby("absent");
  AuditRecord r;
  r.actor = "op";
  r.action = "test";
  const absl::Time start = absl::Now();
  EXPECT_THAT(stores->audit->Append(r),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no answer within 1s")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));  // without the bound it never returns
  // Its backend was asked to cancel: nothing waits for the standby any more (the commit
  // stands locally, as PostgreSQL warns), so no connection slot or lock stays held.
  std::string waiting;
  for (int i = 0; i < 100; ++i) {
    waiting =
        server_->Psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'").output;
    if (waiting == "0\n") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(waiting, "0\n");
  std::move(restore).Invoke();
  // The connection that got no answer is dropped; the next append goes through a new one.
  EXPECT_THAT(stores->audit->Append(r), IsOk());
  auto verified = stores->audit->Verify();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok);
}

}  // namespace
}  // namespace kb
