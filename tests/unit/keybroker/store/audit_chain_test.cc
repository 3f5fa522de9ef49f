// The hash-chained audit log: hashing, verification, tampering done behind the broker's back
// with the SQLite C API, and migration of a version-0 database.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

// What versions 5 and 6 added for the KEK, dropped to get back to an older database.
// What versions 6 and 7 added, dropped to fake an older database.
constexpr char kTablesOfV6AndV7[] =
    "DROP TABLE IF EXISTS keks; DROP INDEX IF EXISTS key_versions_by_kek; ALTER TABLE "
    "key_versions DROP COLUMN kek_id; DROP TABLE forgotten_machines; ";

using ::testing::HasSubstr;

AuditRecord Rec(const std::string& actor, const std::string& reason) {
  AuditRecord r;
  r.time = absl::FromUnixMillis(1'800'000'000'123);
  r.actor = actor;
  r.action = "release";
  r.key_id = "disk";
  r.key_version = 2;
  r.decision = "allow";
  r.reason = reason;
  r.evidence_digest = std::string(64, 'a');
  r.policy_version = 3;
  return r;
}

// Runs SQL on the database file through a second, independent connection.
void Tamper(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

constexpr char kDropGuards[] = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; ";

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-audit-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/broker.db";
    db_ = *OpenBrokerDatabase(path_);
    audit_ = std::make_unique<SqliteAuditLog>(db_);
    for (int i = 1; i <= 5; ++i) {
      ASSERT_THAT(audit_->Append(Rec(absl::StrCat("machine:m", i), absl::StrCat("r", i))), IsOk());
    }
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  AuditChainReport Verify() {
    auto report = audit_->Verify();
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : AuditChainReport{};
  }

  std::string dir_, path_;
  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteAuditLog> audit_;
};

TEST(AuditRecordHashTest, CoversEveryFieldButIdAndHash) {
  AuditRecord base = Rec("machine:a", "ok");
  base.prev_hash = std::string(kAuditGenesisHash);
  const std::string h = AuditRecordHash(base);
  EXPECT_EQ(h.size(), 64u);
  AuditRecord same = base;
  same.id = 99;
  same.hash = "x";
  EXPECT_EQ(AuditRecordHash(same), h);
  std::vector<void (*)(AuditRecord&)> edits = {
      [](AuditRecord& r) { r.time += absl::Milliseconds(1); },
      [](AuditRecord& r) { r.actor += "x"; },
      [](AuditRecord& r) { r.action = "rotate_key"; },
      [](AuditRecord& r) { r.key_id = "disk2"; },
      [](AuditRecord& r) { r.key_version = 3; },
      [](AuditRecord& r) { r.evidence_digest = ""; },
      [](AuditRecord& r) { r.policy_version = 4; },
      [](AuditRecord& r) { r.decision = "deny"; },
      [](AuditRecord& r) { r.reason = "ok "; },
      [](AuditRecord& r) { r.prev_hash[0] = '1'; },
      // Length prefixes: moving a byte between adjacent fields changes the hash.
      [](AuditRecord& r) {
        r.actor = "machine:";
        r.action = "arelease";
      },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    AuditRecord changed = base;
    edits[i](changed);
    EXPECT_NE(AuditRecordHash(changed), h) << "edit " << i;
  }
}

TEST_F(AuditChainTest, AppendsLinkEachRecordToThePrevious) {
  auto records = audit_->List(AuditQuery{.limit = 10});
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 5u);
  EXPECT_EQ(records->back().prev_hash, kAuditGenesisHash);
  for (size_t i = 0; i + 1 < records->size(); ++i) {
    EXPECT_EQ((*records)[i].prev_hash, (*records)[i + 1].hash);
    EXPECT_EQ((*records)[i].hash, AuditRecordHash((*records)[i]));
  }
  AuditChainReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 5u);
  EXPECT_EQ(report.head_hash, records->front().hash);
}

TEST_F(AuditChainTest, EmptyLogVerifies) {
  std::string path = dir_ + "/empty.db";
  SqliteAuditLog empty(*OpenBrokerDatabase(path));
  auto report = empty.Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->records, 0u);
}

TEST_F(AuditChainTest, TableRejectsUpdateAndDelete) {
  EXPECT_FALSE(db_->Exec("UPDATE audit SET reason = 'x' WHERE id = 2").ok());
  EXPECT_FALSE(db_->Exec("DELETE FROM audit WHERE id = 2").ok());
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditChainTest, ChangedFieldIsReported) {
  Tamper(path_, std::string(kDropGuards) +
                    "UPDATE audit SET decision = 'allow', reason = "
                    "'nothing to see' WHERE id = 3");
  AuditChainReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_id, 3u);
  EXPECT_THAT(report.problem, HasSubstr("contents changed"));
}

TEST_F(AuditChainTest, ChangedFieldWithRecomputedHashBreaksTheNextLink) {
  AuditRecord forged = (*audit_->List(AuditQuery{.limit = 5}))[2];  // id 3
  ASSERT_EQ(forged.id, 3u);
  forged.reason = "forged";
  const std::string hash = AuditRecordHash(forged);
  Tamper(path_, std::string(kDropGuards) + "UPDATE audit SET reason = 'forged', hash = '" + hash +
                    "' WHERE id = 3");
  AuditChainReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_id, 4u);
  EXPECT_THAT(report.problem, HasSubstr("does not match record 3"));
}

TEST_F(AuditChainTest, RemovedRecordIsReported) {
  Tamper(path_, std::string(kDropGuards) + "DELETE FROM audit WHERE id = 2");
  AuditChainReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_id, 3u);
  EXPECT_THAT(report.problem, HasSubstr("record 2 before it was removed"));
}

TEST_F(AuditChainTest, RemovedFirstRecordsAreReported) {
  Tamper(path_, std::string(kDropGuards) + "DELETE FROM audit WHERE id <= 2");
  AuditChainReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_id, 3u);
  EXPECT_THAT(report.problem, HasSubstr("records 1 to 2 before it were removed"));
}

TEST_F(AuditChainTest, SwappedRecordsAreReported) {
  Tamper(path_, std::string(kDropGuards) +
                    "UPDATE audit SET id = -1 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 4;"
                    "UPDATE audit SET id = 4 WHERE id = -1;");
  AuditChainReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_id, 2u);
  EXPECT_THAT(report.problem, HasSubstr("reordered"));
}

TEST_F(AuditChainTest, ConcurrentAppendsFormOneChain) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_THAT(audit_->Append(Rec(absl::StrCat("machine:t", t), absl::StrCat(i))), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  AuditChainReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 105u);
}

TEST_F(AuditChainTest, ListFilters) {
  AuditRecord deny = Rec("CN=op", "no");
  deny.decision = "deny";
  deny.key_id = "other";
  deny.time = absl::FromUnixMillis(1'900'000'000'000);
  ASSERT_THAT(audit_->Append(deny), IsOk());
  EXPECT_EQ(audit_->List(AuditQuery{.key_id = "other"})->size(), 1u);
  EXPECT_EQ(audit_->List(AuditQuery{.actor = "machine:m2"})->size(), 1u);
  EXPECT_EQ(audit_->List(AuditQuery{.decision = "allow"})->size(), 5u);
  EXPECT_EQ(audit_->List(AuditQuery{.since = absl::FromUnixMillis(1'850'000'000'000)})->size(), 1u);
  EXPECT_EQ(audit_->List(AuditQuery{.limit = 2, .decision = "allow"})->size(), 2u);
  EXPECT_EQ(audit_->List(AuditQuery{.key_id = "disk", .decision = "deny"})->size(), 0u);
}

TEST_F(AuditChainTest, LatestReleasesPerMachine) {
  AuditRecord r = Rec("machine:m1", "again");
  r.key_version = 7;
  ASSERT_THAT(audit_->Append(r), IsOk());
  r.decision = "deny";
  r.key_version = 9;
  ASSERT_THAT(audit_->Append(r), IsOk());
  auto latest = audit_->LatestReleases("disk");
  ASSERT_THAT(latest, IsOk());
  ASSERT_EQ(latest->size(), 5u);
  EXPECT_EQ((*latest)[0].machine, "m1");
  EXPECT_EQ((*latest)[0].version, 7u);
  EXPECT_EQ((*latest)[1].version, 2u);
}

TEST(AuditMigrationTest, VersionZeroDatabaseIsMigratedAndSealed) {
  char tmpl[] = "/tmp/kb-audit-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/old.db";
  Tamper(path,
         "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, "
         "actor TEXT NOT NULL, action TEXT NOT NULL, key_id TEXT NOT NULL, key_version INTEGER "
         "NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL);"
         "CREATE TABLE key_versions(key_id TEXT NOT NULL, version INTEGER NOT NULL, sealed BLOB "
         "NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(key_id, version));"
         "INSERT INTO audit(time, actor, action, key_id, key_version, decision, reason) VALUES"
         "(1, 'CN=a', 'create_key', 'k', 0, 'allow', 'created version 1'),"
         "(2, 'machine:m', 'release', 'k', 1, 'allow', 'policy v1 rule r');");
  {
    auto db = OpenBrokerDatabase(path);
    ASSERT_THAT(db, IsOk());
    SqliteAuditLog audit(*db);
    ASSERT_THAT(audit.Append(Rec("machine:m", "new")), IsOk());
    auto report = audit.Verify();
    ASSERT_THAT(report, IsOk());
    EXPECT_TRUE(report->ok) << report->problem;
    EXPECT_EQ(report->records, 3u);
  }
  // Opening again is a no-op.
  auto again = OpenBrokerDatabase(path);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(SqliteAuditLog(*again).Verify()->ok);
  (void)!std::system(("rm -rf " + dir).c_str());
}

TEST(SchemaMigrationTest, VersionOneDatabaseGainsOfflineRevocations) {
  char tmpl[] = "/tmp/kb-schema-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/v1.db";
  ASSERT_THAT(OpenBrokerDatabase(path), IsOk());
  // Back to what a version-1 broker left behind.
  Tamper(path, absl::StrCat("DROP TABLE offline_revocations; DROP TABLE enrolment_confirmations; "
                            "DROP TABLE offline_grants; DROP TABLE IF EXISTS collateral; ",
                            kTablesOfV6AndV7, "PRAGMA user_version = 1;"));
  auto db = OpenBrokerDatabase(path);
  ASSERT_THAT(db, IsOk());
  SqliteOfflineRevocations revocations(*db);
  ASSERT_THAT(revocations.Revoke({"k", "", "why", "CN=a", absl::FromUnixSeconds(5)}), IsOk());
  auto found = revocations.Find("k", "any-machine");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->reason, "why");
  EXPECT_TRUE(SqliteAuditLog(*db).Verify()->ok);
  (void)!std::system(("rm -rf " + dir).c_str());
}

TEST(SchemaMigrationTest, VersionSixDatabaseGainsForgottenMachines) {
  char tmpl[] = "/tmp/kb-schema-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/v6.db";
  ASSERT_THAT(OpenBrokerDatabase(path), IsOk());
  Tamper(path, "DROP TABLE forgotten_machines; PRAGMA user_version = 6;");
  auto db = OpenBrokerDatabase(path);
  ASSERT_THAT(db, IsOk());
  SqliteMachineKeyState state(*db);
  ASSERT_THAT(state.Forget({"m", "CN=a", absl::FromUnixSeconds(5)}), IsOk());
  EXPECT_EQ(state.ListForgotten()->size(), 1u);
  (void)!std::system(("rm -rf " + dir).c_str());
}

TEST(SchemaMigrationTest, VersionTwoDatabaseGainsConfirmationsAndOfflineGrants) {
  char tmpl[] = "/tmp/kb-schema-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/v2.db";
  ASSERT_THAT(OpenBrokerDatabase(path), IsOk());
  // Back to what a version-2 broker left behind.
  Tamper(path, absl::StrCat("DROP TABLE enrolment_confirmations; DROP TABLE offline_grants; "
                            "DROP TABLE IF EXISTS collateral; ",
                            kTablesOfV6AndV7, "PRAGMA user_version = 2;"));
  auto db = OpenBrokerDatabase(path);
  ASSERT_THAT(db, IsOk());
  SqliteMachineKeyState state(*db);
  ASSERT_THAT(state.Confirm({"k", "m", 2, absl::FromUnixSeconds(5)}), IsOk());
  ASSERT_THAT(state.Confirm({"k", "m", 3, absl::FromUnixSeconds(6)}), IsOk());  // replaces
  auto confirmations = state.ListConfirmations("k");
  ASSERT_THAT(confirmations, IsOk());
  ASSERT_EQ(confirmations->size(), 1u);
  EXPECT_EQ((*confirmations)[0].version, 3u);
  ASSERT_THAT(state.RecordRelease({"k", "m", 3, 2, absl::FromUnixSeconds(7)}), IsOk());
  EXPECT_EQ(state.ListGrants("")->size(), 1u);
  ASSERT_THAT(state.RecordRelease({"k", "m", 3, 0, absl::FromUnixSeconds(8)}), IsOk());
  EXPECT_TRUE(state.ListGrants("k")->empty());
  (void)!std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace kb
