// keybrokerd on PostgreSQL. A failover under load: a primary with a synchronous streaming standby,
// two keybrokerd replicas on a multi-host DSN (target_session_attrs=read-write), a guest releasing
// throughout. The primary is killed (pg_ctl stop -m immediate) and the standby promoted:
// releases during the switch fail with UNAVAILABLE and succeed on retry, and every release
// acknowledged before the crash has its audit record on the new primary. And `keybrokerd
// migrate-store` from a SQLite broker that is serving: a broker on the copy releases the same
// key to the same guest. And commits that cannot complete: calls fail before the caller's
// deadline.
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/broker_guest.h"
#include "tests/support/postgres_server.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// Polls `done` every 10 ms for at most `limit`; returns its last value.
bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time until = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

TEST(PostgresFailoverTest, ReplicasFollowAPromotedStandbyAndLoseNoAcknowledgedRelease) {
  auto primary = PostgresServer::Start();
  ASSERT_THAT(primary, IsOk());
  auto standby = PostgresServer::StartStandbyOf(**primary);
  ASSERT_THAT(standby, IsOk());
  const std::string dsn =
      absl::StrCat("host=", (*primary)->socket_dir(), ",", (*standby)->socket_dir(),
                   " dbname=keybroker user=postgres target_session_attrs=read-write");
  BrokerProcess::Options options;
  options.store_config = absl::StrCat(R"("store":{"postgres":{"dsn":")", dsn, R"("}})");
  auto a = BrokerProcess::Start(options);
  ASSERT_THAT(a, IsOk());
  // The second replica shares the first one's KEK file.
  options.kek_config = absl::StrCat(R"("kek_file":")", (*a)->Path("kek"), R"(")");
  auto b = BrokerProcess::Start(options);
  ASSERT_THAT(b, IsOk());
  BrokerProcess* replicas[2] = {a->get(), b->get()};
  // On failure, what the brokers and the databases said (the last 3,000 bytes of each log).
  absl::Cleanup logs = [&] {
    if (!::testing::Test::HasFailure()) return;
    for (const std::string& log :
         {(*a)->Path("keybrokerd.log"), (*b)->Path("keybrokerd.log"),
          (*primary)->socket_dir() + "/log", (*standby)->socket_dir() + "/log"}) {
      std::string text = ReadFile(log).value_or("(unreadable)");
      if (text.size() > 3000) text = text.substr(text.size() - 3000);
      std::fprintf(stderr, "==== %s\n%s\n", log.c_str(), text.c_str());
    }
  };
  auto tpm = Guest(**a, "fo-guest", "fo-disk");

  std::atomic<bool> done{false};
  std::atomic<int> acknowledged{0}, unavailable{0}, other{0};
  std::atomic<int> acknowledged_before_kill{-1};
  std::thread guest([&] {
    for (int i = 0; !done; ++i) {
      // Every call is bounded: a broker that hangs on the dead primary shows up as a failure.
      auto released = ReleaseOverGrpc(*replicas[i % 2], *tpm, "fo-disk", std::chrono::seconds(20));
      if (released.ok()) {
        ++acknowledged;
      } else if (released.status().code() == absl::StatusCode::kUnavailable) {
        ++unavailable;
      } else {
        ++other;
        std::fprintf(stderr, "release failed: %s\n", released.status().ToString().c_str());
      }
    }
  });
  // Joins the guest on every way out of the test, ASSERTs included.
  absl::Cleanup stop_guest = [&] {
    done = true;
    guest.join();
  };
  const bool warmed_up = WaitFor([&] { return acknowledged.load() >= 20; }, absl::Seconds(60));
  ASSERT_TRUE(warmed_up) << acknowledged.load() << " releases acknowledged before the failover, "
                         << unavailable.load() << " UNAVAILABLE, " << other.load() << " other";
  ASSERT_THAT((*primary)->Stop(/*immediate=*/true), IsOk());
  acknowledged_before_kill = acknowledged.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_THAT((*standby)->Promote(), IsOk());
  const int at_promotion = acknowledged.load();
  WaitFor([&] { return acknowledged.load() >= at_promotion + 20; }, absl::Seconds(60));
  std::move(stop_guest).Invoke();
  std::printf(
      "%d releases acknowledged (%d before the primary died), %d UNAVAILABLE during the "
      "switch, %d other failures\n",
      acknowledged.load(), acknowledged_before_kill.load(), unavailable.load(), other.load());
  EXPECT_GE(acknowledged.load(), at_promotion + 20) << "releases did not resume after promotion";
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(other.load(), 0);
  // Synchronous replication: what the old primary acknowledged is on the new one.
  CommandResult allows = (*standby)->Psql(
      "SELECT COUNT(*) FROM audit WHERE action = 'release' AND decision = 'allow'");
  ASSERT_EQ(allows.exit_code, 0) << allows.output;
  EXPECT_GE(std::stoi(allows.output), acknowledged.load());
  CommandResult verify = Ctl(**b, {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr("audit chain ok"));
}

TEST(PostgresBrokerTest, MigrateStoreCopiesAServingSqliteBrokerIntoAnEmptyDatabase) {
  auto sqlite_broker = BrokerProcess::Start();
  ASSERT_THAT(sqlite_broker, IsOk());
  auto tpm = Guest(**sqlite_broker, "mig-guest", "mig-disk");
  auto before = ReleaseOverGrpc(**sqlite_broker, *tpm, "mig-disk");
  ASSERT_THAT(before, IsOk());
  auto pg = PostgresServer::Start();
  ASSERT_THAT(pg, IsOk());
  const std::vector<std::string> migrate = {
      BinaryPath("keybrokerd"),
      "migrate-store",
      "--from",
      absl::StrCat("sqlite:", (*sqlite_broker)->Path("broker.db")),
      "--to",
      absl::StrCat("postgres:", (*pg)->Dsn())};
  CommandResult copied = RunCommand(migrate);  // while the SQLite broker serves
  ASSERT_EQ(copied.exit_code, 0) << copied.output;
  EXPECT_THAT(copied.output, HasSubstr("audit chain ok on the target"));
  CommandResult again = RunCommand(migrate);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_THAT(again.output, HasSubstr("already holds keybroker data"));
  EXPECT_EQ(RunCommand({BinaryPath("keybrokerd"), "migrate-store", "--to", "x"}).exit_code, 2);

  BrokerProcess::Options options;
  options.store_config = (*pg)->StoreConfigJson();
  options.kek_config = absl::StrCat(R"("kek_file":")", (*sqlite_broker)->Path("kek"), R"(")");
  auto pg_broker = BrokerProcess::Start(options);
  ASSERT_THAT(pg_broker, IsOk());
  auto after = ReleaseOverGrpc(**pg_broker, *tpm, "mig-disk");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->version(), before->version());
  CommandResult verify = Ctl(**pg_broker, {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;

  // --check-config reads the schema and checks the KEK; with the database down it says so.
  const std::vector<std::string> check = {BinaryPath("keybrokerd"), "--config",
                                          (*pg_broker)->Path("config.json"), "--check-config"};
  CommandResult checked = RunCommand(check);
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_THAT(checked.output, HasSubstr("(schema version 4)"));
  ASSERT_THAT((*pg)->Stop(), IsOk());
  checked = RunCommand(check);
  EXPECT_EQ(checked.exit_code, 1) << checked.output;
  EXPECT_THAT(checked.output, HasSubstr("cannot connect to PostgreSQL"));
  ASSERT_THAT((*pg)->Restart(), IsOk());
}

// keybrokerd on a PostgreSQL whose commits cannot complete (a synchronous standby that never
// connects): calls fail with UNAVAILABLE before the caller's deadline, not with the caller's
// own DEADLINE_EXCEEDED after 20 s of reply timeout, and the operator is told why.
TEST(PostgresBrokerTest, ACommitThatCannotCompleteFailsBeforeTheCallersDeadline) {
  auto pg = PostgresServer::Start();
  ASSERT_THAT(pg, IsOk());
  BrokerProcess::Options options;
  options.store_config = (*pg)->StoreConfigJson();
  auto broker = BrokerProcess::Start(options);
  ASSERT_THAT(broker, IsOk());
  auto tpm = Guest(**broker, "slow-guest", "slow-disk");
  ASSERT_THAT(ReleaseOverGrpc(**broker, *tpm, "slow-disk"), IsOk());
  const auto standby = [&](const std::string& names) {
    ASSERT_THAT((*pg)->SetSynchronousStandby(names), IsOk());
  };
  standby("absent");

  absl::Time start = absl::Now();
  CommandResult create = Ctl(**broker, {"--timeout", "3", "key", "create", "late-disk"});
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
  EXPECT_NE(create.exit_code, 0);
  EXPECT_THAT(create.output, HasSubstr("no answer before the request's deadline"));

  start = absl::Now();
  auto release = ReleaseOverGrpc(**broker, *tpm, "slow-disk", std::chrono::seconds(3));
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
  EXPECT_THAT(release, StatusIs(absl::StatusCode::kUnavailable));  // the detail withheld

  standby("");
  EXPECT_THAT(ReleaseOverGrpc(**broker, *tpm, "slow-disk"), IsOk());
  CommandResult verify = Ctl(**broker, {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace kb
