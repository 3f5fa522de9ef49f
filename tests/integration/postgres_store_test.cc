// The PostgreSQL store on a real PostgreSQL server started by the test: the schema created once
// by replicas starting together, a newer schema and a password in the DSN refused, and the
// cross-replica guarantees (several BrokerStores over one database stand for several
// keybrokerd replicas; the challenges' and the audit chain's are in postgres_challenges_test
// and postgres_audit_test): policy compare-and-set, a deny seen at once everywhere, a wrong
// KEK refused, UNAVAILABLE while the database is down and recovery when it returns.
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/postgres/pg_import.h"
#include "keybroker/store/postgres/pg_stores.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/integration/postgres_store_fixture.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class PostgresStoreTest : public PostgresStoreFixture {};

TEST_F(PostgresStoreTest, ReplicasStartingTogetherCreateTheSchemaOnce) {
  std::vector<std::thread> starts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    starts.emplace_back([&] {
      if (OpenPostgresStores(Options(), Keks(*kek_bytes_)).ok()) ++ok;
    });
  }
  for (auto& t : starts) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(server_->Psql("SELECT version FROM kb_schema").output, "4\n");
  EXPECT_EQ(server_->Psql("SELECT COUNT(*) FROM keks").output, "1\n");
  // A version-1 schema (before forgotten_machines, self-authenticating challenges and the
  // one-statement audit append) is migrated.
  ASSERT_EQ(server_
                ->Psql("DROP TABLE forgotten_machines; DROP TABLE spent_challenges; ALTER "
                       "TABLE keks DROP COLUMN challenge_key; DROP FUNCTION kb_audit_append; "
                       "UPDATE kb_schema SET version = 1")
                .exit_code,
            0);
  EXPECT_THAT(CheckPostgresStore(Options(), Keks(*kek_bytes_)),
              IsOkAndHolds(::testing::AllOf(
                  HasSubstr("(schema version 1): keybrokerd migrates it to version 4"),
                  HasSubstr("; no challenge MAC key yet"))));
  auto migrated = OpenPostgresStores(Options(), Keks(*kek_bytes_));
  ASSERT_THAT(migrated, IsOk());
  EXPECT_EQ(server_->Psql("SELECT version FROM kb_schema").output, "4\n");
  EXPECT_EQ(server_->Psql("SELECT COUNT(*) FROM forgotten_machines").output, "0\n");
  auto c = migrated->challenges->New("disk", absl::Now() + absl::Minutes(1));
  EXPECT_THAT(migrated->challenges->Consume(c->id, "disk"), IsOk());
  EXPECT_THAT(migrated->audit->Append(AllowedRelease("machine:vm")), IsOk());
  EXPECT_TRUE(migrated->audit->Verify()->ok);
}

TEST_F(PostgresStoreTest, RefusesANewerSchemaAndAPasswordInTheDsn) {
  Replica();
  ASSERT_EQ(server_->Psql("UPDATE kb_schema SET version = 99").exit_code, 0);
  EXPECT_THAT(OpenPostgresStores(Options(), Keks(*kek_bytes_)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("schema version 99 is newer than this keybrokerd knows (4)")));
  EXPECT_THAT(CheckPostgresStore(Options(), Keks(*kek_bytes_)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
  PgPool::Options with_password = Options();
  with_password.dsn += " password=hunter2";
  auto refused = OpenPostgresStores(with_password, Keks(*kek_bytes_));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("passfile")));
  EXPECT_THAT(std::string(refused.status().message()), ::testing::Not(HasSubstr("hunter2")));
  with_password.dsn = Options().dsn + " sslpassword=hunter2";
  refused = OpenPostgresStores(with_password, Keks(*kek_bytes_));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sslpassword")));
  EXPECT_THAT(std::string(refused.status().message()), ::testing::Not(HasSubstr("hunter2")));
  // libpq's parse errors quote the DSN: not shown when it may hold a password.
  for (const char* dsn : {"postgresql://kb:hunter2@[::1/kb", "postgresql://kb:hun%zz2@h/kb",
                          "host=h password='hunter2"}) {
    with_password.dsn = dsn;
    auto unparsed = OpenPostgresStores(with_password, Keks(*kek_bytes_));
    EXPECT_THAT(unparsed, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not shown")));
    EXPECT_THAT(std::string(unparsed.status().message()), ::testing::Not(HasSubstr("hun")));
  }
  with_password.dsn = "postgresql://kb@[::1/kb";  // no password: libpq's reason helps
  EXPECT_THAT(OpenPostgresStores(with_password, Keks(*kek_bytes_)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"]\"")));
}

// A migration the database refuses names the statement it sent (the schema's texts start on a
// new line, which once left the name empty).
TEST_F(PostgresStoreTest, AFailedMigrationNamesItsStatement) {
  ASSERT_EQ(server_->Psql("CREATE TABLE keys(x INT)").exit_code, 0);
  auto refused = OpenPostgresStores(Options(), Keks(*kek_bytes_));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("PostgreSQL: CREATE TABLE keys: relation \"keys\" already exists"));
}

TEST_F(PostgresStoreTest, KeysPoliciesAndVersionsRoundTrip) {
  BrokerStores a = Replica();
  const SecretBytes material = *RandomSecret(32);
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), material), IsOk());
  EXPECT_THAT(a.keys->CreateKey(Key("disk"), material), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(a.keys->GetKeyMaterial("disk", 1)->view(), material.view());
  ASSERT_THAT(a.keys->AddVersion("disk", 2, *RandomSecret(32), absl::Now()), IsOk());
  EXPECT_THAT(a.keys->AddVersion("disk", 2, *RandomSecret(32), absl::Now()),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_THAT(a.keys->RetireVersion("disk", 2), IsOk());
  auto key = a.keys->GetKey("disk");
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->latest_version, 2u);
  EXPECT_EQ(key->active_version, 1u);
  EXPECT_EQ(a.keys->ListVersions("disk")->size(), 2u);
  EXPECT_THAT(a.keys->GetKey("nope"), StatusIs(absl::StatusCode::kNotFound));
  // The key bytes are sealed: they are nowhere in the table.
  CommandResult dump = server_->Psql("SELECT encode(sealed, 'hex') FROM key_versions");
  EXPECT_THAT(dump.output, ::testing::Not(HasSubstr(HexEncode(std::string(material.view())))));
}

TEST_F(PostgresStoreTest, AWrongKekIsRefusedAtStart) {
  BrokerStores a = Replica();
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  KekSet other;
  other.current = *AesKek::Create(*RandomSecret(32), "kek_file other");
  EXPECT_THAT(OpenPostgresStores(Options(), std::move(other)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not the one this database's keys were written with")));
}

// --check-config opens the challenges' MAC key as start would, so that a copy that does not
// open is named there rather than at start.
TEST_F(PostgresStoreTest, CheckConfigOpensTheChallengeMacKey) {
  Replica();
  EXPECT_THAT(CheckPostgresStore(Options(), Keks(*kek_bytes_)),
              IsOkAndHolds(HasSubstr("; the challenge MAC key opens under the current KEK")));
  ASSERT_EQ(server_->Psql("UPDATE keks SET challenge_key = NULL").exit_code, 0);
  EXPECT_THAT(CheckPostgresStore(Options(), Keks(*kek_bytes_)),
              IsOkAndHolds(HasSubstr("; no challenge MAC key yet: keybrokerd makes one")));
  Replica();
  ASSERT_EQ(server_
                ->Psql("UPDATE keks SET challenge_key = set_byte(challenge_key, 20, "
                       "get_byte(challenge_key, 20) # 1)")
                .exit_code,
            0);
  const std::string altered = "the challenges' MAC key stored under KEK number 1 does not open";
  EXPECT_THAT(CheckPostgresStore(Options(), Keks(*kek_bytes_)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(altered)));
  EXPECT_THAT(OpenPostgresStores(Options(), Keks(*kek_bytes_)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(altered)));
}

// `setting` as SHOW reports it on a connection of a pool made with `options`.
std::string Shown(const PgPool::Options& options, const std::string& setting) {
  auto pool = PgPool::Create(options);
  if (!pool.ok()) return pool.status().ToString();
  auto conn = (*pool)->Acquire();
  if (!conn.ok()) return conn.status().ToString();
  auto shown = (*conn)->Exec(absl::StrCat("SHOW ", setting));
  return shown.ok() ? shown->Text(0, 0) : shown.status().ToString();
}

TEST_F(PostgresStoreTest, OnlyTheChallengePoolCommitsAsynchronously) {
  PgPool::Options options = Options();
  EXPECT_EQ(Shown(options, "synchronous_commit"), "on");
  options.asynchronous_commit = true;
  EXPECT_EQ(Shown(options, "synchronous_commit"), "off");
}

TEST_F(PostgresStoreTest, TheStatementTimeoutHoldsUnlessTheDsnSetsOne) {
  const auto with = [](const std::string& dsn_tail) {
    PgPool::Options options = Options();
    options.dsn += dsn_tail;
    return Shown(options, "statement_timeout");
  };
  EXPECT_EQ(with(""), "15s");
  // Options of the DSN's own (a search_path) do not drop it.
  EXPECT_EQ(with(" options='-c search_path=public'"), "15s");
  EXPECT_EQ(with(" options='-c statement_timeout=3000'"), "3s");
  EXPECT_EQ(with(" options='--STATEMENT-TIMEOUT=4000'"), "4s");
}

TEST_F(PostgresStoreTest, PolicyCompareAndSetAcrossReplicasLosesNoEdit) {
  BrokerStores a = Replica(), b = Replica();
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  for (uint64_t round = 0; round < 10; ++round) {
    std::atomic<int> won{0}, refused{0};
    std::thread ta([&] {
      auto s = a.keys->SetPolicy("disk", R"({"by":"a"})", round);
      (s.ok() ? won : refused)++;
    });
    std::thread tb([&] {
      auto s = b.keys->SetPolicy("disk", R"({"by":"b"})", round);
      if (!s.ok()) {
        EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
      }
      (s.ok() ? won : refused)++;
    });
    ta.join();
    tb.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(refused.load(), 1);
  }
  EXPECT_EQ(b.keys->GetKey("disk")->policy_version, 10u);
  // An expected version beyond any stored one (above INT64_MAX) is stale too, not a wildcard.
  EXPECT_THAT(a.keys->SetPolicy("disk", R"({"by":"a"})", uint64_t{1} << 63),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("changed since version 9223372036854775808 (now 10)")));
  EXPECT_THAT(a.keys->SetPolicy("none", R"({"by":"a"})", std::nullopt),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(b.keys->GetKey("disk")->policy_version, 10u);
}

TEST_F(PostgresStoreTest, ChangesOnOneReplicaHoldOnTheOthersAtOnce) {
  BrokerStores a = Replica(), b = Replica();
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  ASSERT_THAT(b.keys->GetKey("disk"), IsOk());
  ASSERT_THAT(a.denylist->Deny({"vm-1", "stolen", "op", absl::Now()}), IsOk());
  EXPECT_TRUE(b.denylist->Find("vm-1")->has_value());
  ASSERT_THAT(a.keys->SetDisabled("disk", true), IsOk());
  EXPECT_TRUE(b.keys->GetKey("disk")->disabled);
  ASSERT_THAT(a.revocations->Revoke({"disk", "", "incident", "op", absl::Now()}), IsOk());
  EXPECT_TRUE(b.revocations->Find("disk", "vm-2")->has_value());
  ASSERT_THAT(a.keys->AddVersion("disk", 2, *RandomSecret(32), absl::Now()), IsOk());
  ASSERT_THAT(a.keys->RetireVersion("disk", 1), IsOk());
  EXPECT_EQ(b.keys->GetKey("disk")->active_version, 2u);
  EXPECT_EQ(*b.denylist->Allow("vm-1"), true);
  EXPECT_FALSE(a.denylist->Find("vm-1")->has_value());
  ASSERT_THAT(a.grants->RecordRelease({"disk", "vm-3", 2, 3, absl::Now()}), IsOk());
  EXPECT_EQ(b.grants->ListGrants("")->size(), 1u);
  ASSERT_THAT(a.confirmations->Confirm({"disk", "vm-3", 2, absl::Now()}), IsOk());
  EXPECT_EQ(b.confirmations->ListConfirmations("disk")->size(), 1u);
  ASSERT_THAT(a.aks->Register({std::string("\x00\x0b\x01", 3), "vm-3", "pub", absl::Now()}),
              IsOk());
  EXPECT_EQ(b.aks->Lookup(std::string("\x00\x0b\x01", 3))->machine, "vm-3");
  // Forgetting vm-3 on one replica removes its AK, grant and confirmation for all.
  ASSERT_THAT(a.aks->Register({std::string("\x00\x0b\x02", 3), "vm-4", "pub", absl::Now()}),
              IsOk());
  auto counts = a.forgotten->Forget({"vm-3", "op", absl::Now()});
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->aks + counts->grants + counts->confirmations, 3);
  EXPECT_EQ(b.forgotten->ListForgotten()->at(0).machine, "vm-3");
  EXPECT_TRUE(b.grants->ListGrants("")->empty());
  EXPECT_TRUE(b.confirmations->ListConfirmations("disk")->empty());
  EXPECT_EQ(b.aks->Remove(std::string("\x00\x0b\x02", 3))->machine, "vm-4");
  EXPECT_TRUE(a.aks->List()->empty());
  EXPECT_EQ(a.aks->Remove("\x00\x0b\x02").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PostgresStoreTest, KekRotationRewrapsEveryVersion) {
  BrokerStores first = Replica();
  std::vector<SecretBytes> materials;
  for (int i = 0; i < 5; ++i) {
    materials.push_back(*RandomSecret(32));
    ASSERT_THAT(first.keys->CreateKey(Key(absl::StrCat("k", i)), materials.back()), IsOk());
  }
  const SecretBytes next = *RandomSecret(32);
  KekSet rotated = Keks(next);
  rotated.previous.push_back(*AesKek::Create(kek_bytes_->Clone(), "kek_file old"));
  auto stores = OpenPostgresStores(Options(), std::move(rotated));
  ASSERT_THAT(stores, IsOk());
  auto step = stores->kek_rotation->RewrapUnderCurrentKek(3);
  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->rewrapped, 3u);
  EXPECT_EQ(step->remaining, 2u);
  ASSERT_EQ(stores->kek_rotation->RewrapUnderCurrentKek(10)->remaining, 0u);
  auto alone = OpenPostgresStores(Options(), Keks(next));
  ASSERT_THAT(alone, IsOk());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(alone->keys->GetKeyMaterial(absl::StrCat("k", i), 1)->view(), materials[i].view());
  }
  EXPECT_EQ(alone->kek_rotation->ListKeks()->size(), 2u);
  // The challenges' MAC key went with the rotation: a replica with the old KEK alone, one with
  // both and one with the new KEK alone take each other's challenges.
  const absl::Time expires = absl::Now() + absl::Minutes(1);
  EXPECT_THAT(stores->challenges->Consume(first.challenges->New("disk", expires)->id, "disk"),
              IsOk());
  EXPECT_THAT(alone->challenges->Consume(first.challenges->New("disk", expires)->id, "disk"),
              IsOk());
  EXPECT_THAT(first.challenges->Consume(alone->challenges->New("disk", expires)->id, "disk"),
              IsOk());
}

TEST_F(PostgresStoreTest, UnavailableWhileTheDatabaseIsDownThenRecovers) {
  BrokerStores a = Replica();
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  ASSERT_THAT(server_->Stop(/*immediate=*/true), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(a.keys->GetKey("disk"), StatusIs(absl::StatusCode::kUnavailable));
  // A challenge is made and issued without the database (GetChallenge answers while it is
  // down); its spend needs it.
  auto c = a.challenges->New("disk", absl::Now() + absl::Minutes(1));
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(a.challenges->Put(*c, absl::Now()), IsOk());
  EXPECT_THAT(a.challenges->Consume(c->id, "disk"), StatusIs(absl::StatusCode::kUnavailable));
  AuditRecord r;
  r.actor = "op";
  r.action = "test";
  EXPECT_THAT(a.audit->Append(r), StatusIs(absl::StatusCode::kUnavailable));
  const absl::Duration took = absl::Now() - start;
  std::printf("three calls with the database down failed in %s\n",
              absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(10));
  ASSERT_THAT(server_->Restart(), IsOk());
  // The pool replaces the broken connections by itself.
  EXPECT_THAT(a.keys->GetKey("disk"), IsOk());
  EXPECT_THAT(a.audit->Append(r), IsOk());
  EXPECT_THAT(a.challenges->Consume(c->id, "disk"), IsOk());  // the failed spend spent nothing
}

// The server's goodbye that the pool reads from an idle connection (a fast shutdown's FATAL)
// reaches the log as a line of keybrokerd's, escaped, not as libpq's own text on stderr.
TEST_F(PostgresStoreTest, TheServersGoodbyeIsLoggedAsOurLine) {
  BrokerStores a = Replica();
  ASSERT_THAT(a.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  ASSERT_THAT(server_->Stop(), IsOk());  // fast: the server tells each session it ends
  ASSERT_THAT(server_->Restart(), IsOk());
  ::testing::internal::CaptureStderr();
  EXPECT_THAT(a.keys->GetKey("disk"), IsOk());  // the pool reads it and connects again
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logged, HasSubstr(" W PostgreSQL: FATAL:  terminating connection due to "
                                "administrator command"));
  EXPECT_THAT(logged, ::testing::Not(::testing::StartsWith("FATAL")));
  EXPECT_THAT(logged, ::testing::Not(HasSubstr("\nFATAL")));
}

// A commit that waits for a synchronous standby that is gone is not bounded by the server's
// statement_timeout; the client's reply timeout bounds it.
TEST_F(PostgresStoreTest, CollateralIsReplacedPerSlot) {
  BrokerStores a = Replica(), b = Replica();
  CollateralRecord c{.id = "0011",
                     .kind = "vcek",
                     .slot = "chip-1",
                     .lookup_key = "aa",
                     .identity = "VCEK chip 1",
                     .name = "vcek.der",
                     .not_before = absl::FromUnixSeconds(1000),
                     .not_after = absl::FromUnixSeconds(2000),
                     .imported_at = absl::Now(),
                     .content = std::string("\x30\x82\x00\x01", 4)};
  ASSERT_THAT(a.collateral->PutCollateral(c, nullptr), IsOk());
  CollateralRecord newer = c;
  newer.id = "0022";
  newer.not_before = absl::FromUnixSeconds(1500);
  auto replaced = b.collateral->PutCollateral(newer, nullptr);
  ASSERT_THAT(replaced, IsOk());
  ASSERT_TRUE(replaced->has_value());
  EXPECT_EQ((*replaced)->id, "0011");
  auto found = a.collateral->FindCollateral("vcek", "aa");
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().content, c.content);
  EXPECT_THAT(b.collateral->DeleteCollateral("0022"), IsOk());
  EXPECT_THAT(a.collateral->DeleteCollateral("0022"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PostgresStoreTest, CopiesASqliteDatabaseIntoAnEmptyOneOnly) {
  char tmpl[] = "/tmp/kb-copy-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = absl::StrCat(tmpl, "/broker.db");
  const SecretBytes material = *RandomSecret(32);
  {
    auto sqlite = OpenSqliteStores(path, Keks(*kek_bytes_));
    ASSERT_THAT(sqlite, IsOk());
    ASSERT_THAT(sqlite->keys->CreateKey(Key("disk"), material), IsOk());
    ASSERT_THAT(sqlite->keys->SetPolicy("disk", R"({"allow":[]})", 0), IsOk());
    ASSERT_THAT(sqlite->denylist->Deny({"vm-9", "lost", "op", absl::Now()}), IsOk());
    ASSERT_THAT(sqlite->forgotten->Forget({"vm-8", "op", absl::Now()}), IsOk());
    for (int i = 0; i < 30; ++i) {
      ASSERT_THAT(sqlite->audit->Append(AllowedRelease("machine:vm-1")), IsOk());
    }
  }
  auto copied = CopySqliteToPostgres(path, Options());
  ASSERT_THAT(copied, IsOk());
  EXPECT_TRUE(copied->audit.ok);
  EXPECT_EQ(copied->audit.records, 30u);
  auto pg = OpenPostgresStores(Options(), Keks(*kek_bytes_));
  ASSERT_THAT(pg, IsOk());
  EXPECT_EQ(pg->keys->GetKeyMaterial("disk", 1)->view(), material.view());
  EXPECT_EQ(pg->keys->GetKey("disk")->policy_version, 1u);
  EXPECT_TRUE(pg->denylist->Find("vm-9")->has_value());
  EXPECT_EQ(pg->forgotten->ListForgotten()->size(), 1u);
  EXPECT_TRUE(pg->audit->Verify()->ok);
  // Appends go on from the copied head.
  AuditRecord next;
  next.actor = "op";
  next.action = "after-copy";
  ASSERT_THAT(pg->audit->Append(next), IsOk());
  EXPECT_EQ(pg->audit->Verify()->records, 31u);
  // A second copy into the now non-empty database is refused and changes nothing.
  EXPECT_THAT(CopySqliteToPostgres(path, Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already holds")));
  EXPECT_EQ(pg->audit->Verify()->records, 31u);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace kb
