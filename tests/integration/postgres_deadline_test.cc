// PostgreSQL calls bounded when the server cannot answer, on a real server started by the
// test: a commit waiting for a synchronous standby that is gone (PostgreSQL's own
// statement_timeout does not cover that wait) fails within the reply timeout, or at the
// request's deadline when that comes first; its backend is asked to cancel, and the store
// recovers by itself. A wait for a pooled connection or for a new one ends at the request's
// deadline too, and nothing is sent for a request whose deadline has passed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/request_deadline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/postgres/pg_pool.h"
#include "keybroker/store/postgres/pg_stores.h"
#include "tests/integration/postgres_store_fixture.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// A port on 127.0.0.1 whose connections are never accepted: the kernel completes them and
// nothing answers libpq's startup packet, as for a database host behind a path that swallows
// packets. Closing it resets the connections waiting in its backlog.
class SilentPort {
 public:
  SilentPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 && listen(fd_, 16) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentPort() { Close(); }
  int port() const { return port_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  int port_ = 0;
};

class PostgresDeadlineTest : public PostgresStoreFixture {
 protected:
  // The number of backends waiting for a synchronous standby, once it is 0 or after 5 s.
  static std::string WaitingForTheStandby() {
    std::string waiting;
    for (int i = 0; i < 100; ++i) {
      waiting = server_->Psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
                    .output;
      if (waiting == "0\n") break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return waiting;
  }
  static AuditRecord Record() {
    AuditRecord r;
    r.actor = "op";
    r.action = "test";
    return r;
  }
};

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
  EXPECT_EQ(WaitingForTheStandby(), "0\n");
  std::move(restore).Invoke();
  // The connection that got no answer is dropped; the next append goes through a new one.
  EXPECT_THAT(stores->audit->Append(r), IsOk());
  auto verified = stores->audit->Verify();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok);
}

// The same commit under a request deadline that comes before the reply timeout (20 s, the
// default): it fails at the request's deadline, which the gRPC adapters set from the call's.
TEST_F(PostgresDeadlineTest, AnUnansweredCommitFailsAtTheRequestDeadline) {
  auto stores = OpenPostgresStores(Options(), Keks(*kek_bytes_));
  ASSERT_THAT(stores, IsOk());
  ASSERT_THAT(stores->audit->Append(Record()), IsOk());  // connected and prepared
  absl::Cleanup restore = [&] { SetSynchronousStandby(""); };
  SetSynchronousStandby("absent");
  const absl::Time start = absl::Now();
  {
    const RequestDeadline::Scope deadline(start + absl::Seconds(1));
    EXPECT_THAT(stores->audit->Append(Record()),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("no answer before the request's deadline")));
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(8));  // the reply timeout alone would take 20 s
  EXPECT_EQ(WaitingForTheStandby(), "0\n");
  std::move(restore).Invoke();
  EXPECT_THAT(stores->audit->Append(Record()), IsOk());
}

// A request whose deadline has passed takes no connection and sends no statement.
TEST_F(PostgresDeadlineTest, NothingIsSentAfterTheRequestDeadline) {
  auto pool = PgPool::Create(Options());
  ASSERT_THAT(pool, IsOk());
  auto lease = (*pool)->Acquire();
  ASSERT_THAT(lease, IsOk());
  const RequestDeadline::Scope deadline(absl::Now() - absl::Milliseconds(1));
  EXPECT_THAT((*pool)->Acquire(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no connection to")));
  EXPECT_THAT((*lease)->Exec("SELECT 1"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("not sent: the request's deadline has passed")));
  EXPECT_FALSE((*lease)->broken());  // nothing is in flight on it
}

// An audit record is still written when its request's deadline has passed (a client could
// otherwise have the record of its own refused attempt dropped): it gets kAuditRecordFloor.
TEST_F(PostgresDeadlineTest, AnAuditRecordIsWrittenAfterTheRequestDeadline) {
  auto stores = OpenPostgresStores(Options(), Keks(*kek_bytes_));
  ASSERT_THAT(stores, IsOk());
  ASSERT_THAT(stores->audit->Append(Record()), IsOk());  // connected and prepared
  {
    const RequestDeadline::Scope deadline(absl::Now() - absl::Milliseconds(1));
    EXPECT_THAT(stores->audit->Append(Record()), IsOk());
  }
  auto verified = stores->audit->Verify();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok);
  EXPECT_EQ(verified->records, 2u);
}

// With every connection of the pool in use, a wait for one ends at the request's deadline
// rather than after acquire_timeout.
TEST_F(PostgresDeadlineTest, AWaitForAConnectionEndsAtTheRequestDeadline) {
  PgPool::Options options = Options();
  options.size = 1;
  options.acquire_timeout = absl::Seconds(30);
  auto pool = PgPool::Create(options);
  ASSERT_THAT(pool, IsOk());
  auto held = (*pool)->Acquire();
  ASSERT_THAT(held, IsOk());
  const absl::Time start = absl::Now();
  {
    const RequestDeadline::Scope deadline(start + absl::Milliseconds(300));
    EXPECT_THAT((*pool)->Acquire(),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("stayed busy until the request's deadline")));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

// A new connection that the database does not complete (connect_timeout 20 s here) is waited
// for until the request's deadline; it goes on being made, holding its place in the pool.
TEST_F(PostgresDeadlineTest, AWaitForANewConnectionEndsAtTheRequestDeadline) {
  SilentPort silent;
  ASSERT_NE(silent.port(), 0);
  auto pool = PgPool::Create(
      {.dsn = absl::StrCat("host=127.0.0.1 port=", silent.port(),
                           " connect_timeout=20 sslmode=disable dbname=keybroker user=postgres"),
       .size = 1});
  ASSERT_THAT(pool, IsOk());
  const absl::Time start = absl::Now();
  {
    const RequestDeadline::Scope deadline(start + absl::Milliseconds(300));
    EXPECT_THAT((*pool)->Acquire(), StatusIs(absl::StatusCode::kUnavailable,
                                             HasSubstr("made before the request's deadline")));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // The connect still running holds the pool until it ends, which it does when the port
  // closes.
  const std::weak_ptr<PgPool> weak = *pool;
  pool->reset();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(weak.expired());
  silent.Close();
  const absl::Time closed = absl::Now();
  while (!weak.expired() && absl::Now() - closed < absl::Seconds(15)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(weak.expired());
}

// libpq still gives each host of a multi-host DSN its own connect_timeout, and the connection
// it then makes to the next host joins the pool although its request has left.
TEST_F(PostgresDeadlineTest, AConnectionMadeAfterItsRequestLeftJoinsThePool) {
  SilentPort silent;
  ASSERT_NE(silent.port(), 0);
  const CommandResult shown = server_->Psql("SHOW port");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  const std::string port = shown.output;
  auto pool = PgPool::Create(
      {.dsn = absl::StrCat("host=127.0.0.1,", server_->socket_dir(), " port=", silent.port(), ",",
                           absl::StripTrailingAsciiWhitespace(port),
                           " connect_timeout=3 sslmode=disable dbname=keybroker user=postgres "
                           "application_name=kb_joins_the_pool"),
       .size = 1,
       .acquire_timeout = absl::Seconds(20)});
  ASSERT_THAT(pool, IsOk());
  {
    const RequestDeadline::Scope deadline(absl::Now() + absl::Milliseconds(300));
    EXPECT_THAT((*pool)->Acquire(), StatusIs(absl::StatusCode::kUnavailable,
                                             HasSubstr("made before the request's deadline")));
  }
  // The pool's one place is that connection's: this waits for it rather than making another.
  auto lease = (*pool)->Acquire();
  ASSERT_THAT(lease, IsOk());
  auto one = (*lease)->Exec("SELECT 1");
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->Text(0, 0), "1");
  EXPECT_EQ(server_
                ->Psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                       "'kb_joins_the_pool'")
                .output,
            "1\n");
}

}  // namespace
}  // namespace kb
