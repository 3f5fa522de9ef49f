#include "keybroker/store/sqlite_stores.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/time/clock.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class SqliteStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/broker.db";
    db_ = *OpenBrokerDatabase(path_);
    keys_ = *SqliteKeyStore::Create(db_, *AesKek::Create(*RandomSecret(32), "test KEK"));
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  KeyRecord Record(const std::string& id) {
    KeyRecord r;
    r.key_id = id;
    r.size_bytes = 32;
    r.latest_version = 1;
    r.created_at = absl::Now();
    return r;
  }

  std::string dir_, path_;
  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteKeyStore> keys_;
};

TEST_F(SqliteStoresTest, KeysAreStoredEncryptedAndRoundTrip) {
  SecretBytes material = *RandomSecret(32);
  ASSERT_THAT(keys_->CreateKey(Record("disk"), material), IsOk());
  EXPECT_EQ(keys_->CreateKey(Record("disk"), material).code(), absl::StatusCode::kAlreadyExists);
  auto back = keys_->GetKeyMaterial("disk", 1);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*back, material));
  EXPECT_EQ(keys_->GetKeyMaterial("disk", 2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys_->GetKey("nope").status().code(), absl::StatusCode::kNotFound);

  // The plaintext key is nowhere in the database file.
  db_.reset();
  keys_.reset();
  std::string raw;
  for (const char* suffix : {"", "-wal"}) {
    FILE* f = fopen((path_ + suffix).c_str(), "rb");
    if (!f) continue;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) raw.append(buf, n);
    fclose(f);
  }
  EXPECT_GT(raw.size(), 0u);
  EXPECT_EQ(raw.find(std::string(material.view())), std::string::npos);
}

TEST_F(SqliteStoresTest, WrongKekStopsTheStoreAtOpenAndNamesBothKeks) {
  ASSERT_THAT(keys_->CreateKey(Record("disk"), *RandomSecret(32)), IsOk());
  auto other = SqliteKeyStore::Create(db_, *AesKek::Create(*RandomSecret(32), "kek_file /new"));
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kFailedPrecondition,
                              AllOf(HasSubstr("the configured KEK (kek_file /new, fingerprint "),
                                    HasSubstr("written with (test KEK, fingerprint "))));
  // Even with no key yet: the check value was recorded when the store was first opened.
  std::shared_ptr<SqliteDb> fresh = *OpenBrokerDatabase(dir_ + "/fresh.db");
  ASSERT_THAT(SqliteKeyStore::Create(fresh, *AesKek::Create(*RandomSecret(32), "first")), IsOk());
  EXPECT_THAT(SqliteKeyStore::Create(fresh, *AesKek::Create(*RandomSecret(32), "second")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("(first, fingerprint")));
}

TEST_F(SqliteStoresTest, TheSameKekReopensTheStore) {
  SecretBytes key = *RandomSecret(32);
  std::shared_ptr<SqliteDb> db = *OpenBrokerDatabase(dir_ + "/same.db");
  auto first = SqliteKeyStore::Create(db, *AesKek::Create(key.Clone(), "kek_file /a"));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT((*first)->CreateKey(Record("disk"), *RandomSecret(32)), IsOk());
  // The same key under another path: the fingerprint, not the path, is what matters.
  auto again = SqliteKeyStore::Create(db, *AesKek::Create(key.Clone(), "kek_file /b"));
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT((*again)->GetKeyMaterial("disk", 1), IsOk());
}

// A database written before check values: its keys decide, and the check value is recorded
// only when the store is opened to serve (not by --check-config).
TEST_F(SqliteStoresTest, DatabaseWithoutCheckValueIsCheckedAgainstItsKeys) {
  SecretBytes key = *RandomSecret(32);
  std::shared_ptr<SqliteDb> db = *OpenBrokerDatabase(dir_ + "/old.db");
  ASSERT_THAT(SqliteKeyStore::Create(db, *AesKek::Create(key.Clone(), "old"))
                  .value()
                  ->CreateKey(Record("disk"), *RandomSecret(32)),
              IsOk());
  ASSERT_THAT(db->Exec("DELETE FROM keks"), IsOk());
  EXPECT_THAT(SqliteKeyStore::Create(db, *AesKek::Create(*RandomSecret(32), "wrong")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("key 'disk' version 1 does not decrypt under it")));
  auto count = [&] {
    auto st = db->Prepare("SELECT COUNT(*) FROM keks");
    EXPECT_THAT(st, IsOk());
    EXPECT_THAT(st->Step(), IsOkAndHolds(true));
    return st->Int(0);
  };
  ASSERT_THAT(SqliteKeyStore::Create(db, *AesKek::Create(key.Clone(), "old"),
                                     SqliteKeyStore::KekCheck::kVerifyOnly),
              IsOk());
  EXPECT_EQ(count(), 0);
  ASSERT_THAT(SqliteKeyStore::Create(db, *AesKek::Create(key.Clone(), "old")), IsOk());
  EXPECT_EQ(count(), 1);
}

TEST_F(SqliteStoresTest, NewerSchemaIsRefused) {
  ASSERT_THAT(db_->Exec("PRAGMA user_version = 99"), IsOk());
  db_.reset();
  keys_.reset();
  EXPECT_THAT(OpenBrokerDatabase(path_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("schema version 99 is newer than this keybrokerd knows")));
}

TEST_F(SqliteStoresTest, PoliciesAreVersioned) {
  ASSERT_THAT(keys_->CreateKey(Record("disk"), *RandomSecret(32)), IsOk());
  EXPECT_EQ(keys_->GetKey("disk")->policy_version, 0u);
  EXPECT_EQ(*keys_->SetPolicy("disk", "{\"a\":1}", std::nullopt), 1u);
  EXPECT_EQ(*keys_->SetPolicy("disk", "{\"a\":2}", 1), 2u);
  auto key = keys_->GetKey("disk");
  EXPECT_EQ(key->policy_version, 2u);
  EXPECT_EQ(key->policy_json, "{\"a\":2}");
  EXPECT_EQ(keys_->SetPolicy("nope", "{}", std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_THAT(keys_->SetDisabled("disk", true), IsOk());
  EXPECT_TRUE(keys_->GetKey("disk")->disabled);
  EXPECT_EQ(keys_->SetDisabled("nope", true).code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoresTest, PolicyCompareAndSetRefusesAStaleVersion) {
  ASSERT_THAT(keys_->CreateKey(Record("disk"), *RandomSecret(32)), IsOk());
  ASSERT_THAT(keys_->SetPolicy("disk", "{\"a\":1}", 0), IsOk());
  EXPECT_THAT(keys_->SetPolicy("disk", "{\"a\":2}", 0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("changed since version 0 (now 1)")));
  EXPECT_EQ(keys_->GetKey("disk")->policy_json, "{\"a\":1}");
  EXPECT_THAT(keys_->SetPolicy("nope", "{}", 0), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoresTest, RegistryAndAudit) {
  SqliteAttestationKeyRegistry aks(db_);
  ASSERT_THAT(aks.Register({"name1", "web-1", "pub", absl::Now()}), IsOk());
  EXPECT_EQ(aks.Register({"name1", "web-2", "pub", absl::Now()}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(aks.Lookup("name1")->machine, "web-1");
  EXPECT_EQ(aks.Lookup("name2").status().code(), absl::StatusCode::kNotFound);

  SqliteAuditLog audit(db_);
  ASSERT_THAT(audit.Append({0, absl::Now(), "op", "create_key", "disk", 1, "allow", "ok"}), IsOk());
  ASSERT_THAT(audit.Append({0, absl::Now(), "m", "release", "disk", 1, "deny", "bad"}), IsOk());
  auto list = audit.List(AuditQuery{.limit = 10});
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].action, "release");
  EXPECT_EQ((*list)[1].action, "create_key");
  // Paging: below the newest record's id there is only the first one.
  auto older = audit.List(AuditQuery{.limit = 10, .before_id = (*list)[0].id});
  ASSERT_THAT(older, IsOk());
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].id, (*list)[1].id);
  EXPECT_TRUE(audit.List(AuditQuery{.limit = 10, .before_id = (*list)[1].id})->empty());
}

TEST_F(SqliteStoresTest, VersionsRotateAndRetire) {
  ASSERT_THAT(keys_->CreateKey(Record("disk"), *RandomSecret(32)), IsOk());
  SecretBytes v2 = *RandomSecret(32);
  ASSERT_THAT(keys_->AddVersion("disk", 2, v2, absl::Now()), IsOk());
  // A rotation computed from a stale latest_version loses the race.
  EXPECT_EQ(keys_->AddVersion("disk", 2, v2, absl::Now()).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(keys_->AddVersion("nokey", 2, v2, absl::Now()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys_->GetKeyMaterial("disk", 2)->view(), v2.view());
  EXPECT_EQ(keys_->GetKey("disk")->latest_version, 2u);
  EXPECT_EQ(keys_->GetKey("disk")->active_version, 2u);
  ASSERT_THAT(keys_->RetireVersion("disk", 2), IsOk());
  EXPECT_EQ(keys_->GetKey("disk")->active_version, 1u);
  ASSERT_THAT(keys_->RetireVersion("disk", 1), IsOk());
  EXPECT_EQ(keys_->GetKey("disk")->active_version, 0u);
  EXPECT_EQ(keys_->RetireVersion("disk", 3).code(), absl::StatusCode::kNotFound);
  auto versions = keys_->ListVersions("disk");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_TRUE((*versions)[0].retired);
  EXPECT_EQ((*versions)[1].version, 2u);
}

TEST_F(SqliteStoresTest, MachineDenyList) {
  SqliteMachineDenyList denylist(db_);
  EXPECT_FALSE(denylist.Find("web-1")->has_value());
  ASSERT_THAT(denylist.Deny({"web-1", "stolen", "CN=a", absl::Now()}), IsOk());
  ASSERT_THAT(denylist.Deny({"web-1", "really stolen", "CN=b", absl::Now()}), IsOk());
  auto found = denylist.Find("web-1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->reason, "really stolen");
  EXPECT_EQ(denylist.List()->size(), 1u);
  EXPECT_TRUE(*denylist.Allow("web-1"));
  EXPECT_FALSE(*denylist.Allow("web-1"));
  EXPECT_TRUE(denylist.List()->empty());
}

TEST(SqliteDbTest, UnopenablePathIsUnavailable) {
  auto db = OpenBrokerDatabase("/nonexistent-dir/x.db");
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace kb
