// KEK rotation in the SQLite key store: a new KEK next to the previous one, key versions
// re-sealed in bounded steps, every key opening after a stop at any step, and the checks that
// keep a rotation from losing keys (a previous KEK removed too early, one the store never knew).
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/request_deadline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// How a TroubledKek misbehaves, changed by the test as it goes.
struct KekTrouble {
  bool down = false;         // an HSM gone away: every call UNAVAILABLE
  bool faulty = false;       // a device fault its module reports as a tag that does not verify
  absl::Time deadline_seen;  // RequestDeadline::Current() at the last Seal
  int seals_left = -1;       // >= 0: seals this many more times, then UNAVAILABLE (a slow HSM at
                             // a call's deadline); -1: no limit
};

// A KEK that misbehaves as `*trouble` says, and otherwise is `inner`.
class TroubledKek final : public Kek {
 public:
  TroubledKek(std::unique_ptr<Kek> inner, KekTrouble* trouble)
      : inner_(std::move(inner)), trouble_(trouble) {}
  absl::StatusOr<std::string> Seal(const SecretBytes& p, absl::string_view aad) override {
    if (trouble_->down) return absl::UnavailableError("token not present");
    if (trouble_->seals_left == 0) return absl::UnavailableError("the request's deadline passed");
    if (trouble_->seals_left > 0) --trouble_->seals_left;
    trouble_->deadline_seen = RequestDeadline::Current();
    return inner_->Seal(p, aad);
  }
  absl::StatusOr<SecretBytes> Open(absl::string_view s, absl::string_view aad) override {
    if (trouble_->down) return absl::UnavailableError("token not present");
    if (trouble_->faulty) return absl::DataLossError("AES-256-GCM authentication failed");
    return inner_->Open(s, aad);
  }
  std::string Describe() const override { return inner_->Describe(); }
  std::string Fingerprint() const override { return inner_->Fingerprint(); }

 private:
  std::unique_ptr<Kek> inner_;
  KekTrouble* trouble_;
};

class KekRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-rotate-XXXXXX";
    dir_ = mkdtemp(tmpl);
    old_key_ = *RandomSecret(32);
    new_key_ = *RandomSecret(32);
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  std::unique_ptr<Kek> Old() { return *AesKek::Create(old_key_.Clone(), "kek_file old"); }
  std::unique_ptr<Kek> New() { return *AesKek::Create(new_key_.Clone(), "kek_file new"); }
  KekSet Rotating() {
    KekSet keks;
    keks.current = New();
    keks.previous.push_back(Old());
    return keks;
  }
  // Rotating(), with its new KEK in `*trouble`.
  KekSet TroubledRotation(KekTrouble* trouble) {
    KekSet keks;
    keks.current = std::make_unique<TroubledKek>(New(), trouble);
    keks.previous.push_back(Old());
    return keks;
  }
  absl::StatusOr<std::unique_ptr<SqliteKeyStore>> Open(KekSet keks) {
    auto db = OpenBrokerDatabase(dir_ + "/broker.db");
    if (!db.ok()) return db.status();
    return SqliteKeyStore::Create(*db, std::move(keks));
  }
  absl::StatusOr<std::unique_ptr<SqliteKeyStore>> Open(std::unique_ptr<Kek> kek) {
    KekSet keks;
    keks.current = std::move(kek);
    return Open(std::move(keks));
  }

  // `count` keys under the old KEK, two versions each; remembers their material.
  void CreateKeysUnderOldKek(int count) {
    auto store = Open(Old());
    ASSERT_THAT(store, IsOk());
    for (int i = 0; i < count; ++i) {
      KeyRecord r;
      r.key_id = absl::StrCat("disk-", i);
      r.size_bytes = 32;
      r.latest_version = 1;
      r.created_at = absl::Now();
      SecretBytes v1 = *RandomSecret(32), v2 = *RandomSecret(32);
      ASSERT_THAT((*store)->CreateKey(r, v1), IsOk());
      ASSERT_THAT((*store)->AddVersion(r.key_id, 2, v2, absl::Now()), IsOk());
      material_[{r.key_id, 1}] = std::string(v1.view());
      material_[{r.key_id, 2}] = std::string(v2.view());
    }
  }
  // Every remembered key version opens to its material.
  void ExpectEveryKeyOpens(SqliteKeyStore& store) {
    for (const auto& [id, bytes] : material_) {
      auto got = store.GetKeyMaterial(id.first, id.second);
      ASSERT_THAT(got, IsOk()) << id.first << "/" << id.second;
      EXPECT_EQ(got->view(), bytes);
    }
  }

  std::string dir_;
  SecretBytes old_key_, new_key_;
  std::map<std::pair<std::string, uint32_t>, std::string> material_;
};

TEST_F(KekRotationTest, RewrapsInStepsAndTheOldKekIsThenNotNeeded) {
  CreateKeysUnderOldKek(5);
  auto store = Open(Rotating());
  ASSERT_THAT(store, IsOk());
  ExpectEveryKeyOpens(**store);
  auto keks = (*store)->ListKeks();
  ASSERT_THAT(keks, IsOk());
  ASSERT_EQ(keks->size(), 2u);
  EXPECT_EQ((*keks)[0].description, "kek_file old");
  EXPECT_EQ((*keks)[0].key_versions, 10u);
  EXPECT_EQ((*keks)[0].configured, KekUse::Configured::kPrevious);
  EXPECT_EQ((*keks)[1].description, "kek_file new");
  EXPECT_EQ((*keks)[1].configured, KekUse::Configured::kCurrent);

  auto step = (*store)->RewrapUnderCurrentKek(4);
  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->rewrapped, 4u);
  EXPECT_EQ(step->remaining, 6u);
  ExpectEveryKeyOpens(**store);
  uint64_t remaining = step->remaining;
  while (remaining > 0) {
    step = (*store)->RewrapUnderCurrentKek(4);
    ASSERT_THAT(step, IsOk());
    remaining = step->remaining;
  }
  EXPECT_EQ((*store)->RewrapUnderCurrentKek(4)->rewrapped, 0u);
  EXPECT_EQ((*(*store)->ListKeks())[0].key_versions, 0u);
  store->reset();
  auto after = Open(New());  // the old KEK removed from the config
  ASSERT_THAT(after, IsOk());
  ExpectEveryKeyOpens(**after);
}

TEST_F(KekRotationTest, AStopAfterAnyStepLosesNoKey) {
  CreateKeysUnderOldKek(3);  // 6 key versions
  for (int step = 1; step <= 6; ++step) {
    {
      auto store = Open(Rotating());
      ASSERT_THAT(store, IsOk());
      auto progress = (*store)->RewrapUnderCurrentKek(1);
      ASSERT_THAT(progress, IsOk());
      EXPECT_EQ(progress->remaining, 6u - step);
    }  // the broker stops after each step
    auto again = Open(Rotating());
    ASSERT_THAT(again, IsOk()) << "after step " << step;
    ExpectEveryKeyOpens(**again);
  }
  auto done = Open(New());
  ASSERT_THAT(done, IsOk());
  ExpectEveryKeyOpens(**done);
}

TEST_F(KekRotationTest, AKekThatFailsMidStepChangesNothing) {
  CreateKeysUnderOldKek(3);
  KekTrouble trouble;
  auto store = Open(TroubledRotation(&trouble));
  ASSERT_THAT(store, IsOk());
  trouble.down = true;
  EXPECT_THAT((*store)->RewrapUnderCurrentKek(10), StatusIs(absl::StatusCode::kUnavailable));
  trouble.down = false;
  EXPECT_EQ((*(*store)->ListKeks())[0].key_versions, 6u);
  ExpectEveryKeyOpens(**store);
}

// A step whose KEK fails part-way keeps what it re-sealed before; the next step meets the
// failure first and changes nothing.
TEST_F(KekRotationTest, AStepThatFailsPartWayKeepsTheVersionsItResealed) {
  CreateKeysUnderOldKek(3);  // 6 key versions
  KekTrouble trouble;
  auto store = Open(TroubledRotation(&trouble));
  ASSERT_THAT(store, IsOk());
  trouble.seals_left = 2;
  auto step = (*store)->RewrapUnderCurrentKek(10);
  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->rewrapped, 2u);
  EXPECT_EQ(step->remaining, 4u);
  EXPECT_THAT((*store)->RewrapUnderCurrentKek(10),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("deadline passed")));
  EXPECT_EQ((*(*store)->ListKeks())[0].key_versions, 4u);
  ExpectEveryKeyOpens(**store);
  trouble.seals_left = -1;
  // Under a request's deadline the KEK calls get half of the time left: the rest is the
  // store's, to commit what they did.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  {
    const RequestDeadline::Scope request(deadline);
    ASSERT_THAT((*store)->RewrapUnderCurrentKek(1), IsOk());
  }
  EXPECT_LE(trouble.deadline_seen, deadline - absl::Seconds(4));
  EXPECT_EQ((*store)->RewrapUnderCurrentKek(10)->remaining, 0u);
  ExpectEveryKeyOpens(**store);
}

TEST_F(KekRotationTest, RefusesToLoseKeysOrToGuess) {
  CreateKeysUnderOldKek(2);
  // A new KEK alone: not a rotation, a wrong KEK.
  EXPECT_THAT(Open(New()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    AllOf(HasSubstr("is not the one this database's keys were "
                                                    "written with (kek_file old"),
                                          HasSubstr("previous_keks"))));
  // A previous KEK the store never knew.
  KekSet stranger;
  stranger.current = Old();
  stranger.previous.push_back(*AesKek::Create(*RandomSecret(32), "kek_file stranger"));
  EXPECT_THAT(Open(std::move(stranger)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("previous_keks[0] (kek_file stranger")));
  // Rotation begun, then the old KEK removed before it finished.
  {
    auto store = Open(Rotating());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->RewrapUnderCurrentKek(1), IsOk());
  }
  EXPECT_THAT(Open(New()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("3 key version(s) are sealed under a KEK that is not "
                                       "configured (kek_file old"),
                             HasSubstr("kek rotate"))));
  // Back to the old KEK alone: the versions already under the new one need it.
  EXPECT_THAT(Open(Old()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("1 key version(s) are sealed under a KEK")));
}

TEST_F(KekRotationTest, AnUnreachableKekIsNotTakenForAWrongOne) {
  CreateKeysUnderOldKek(1);
  KekTrouble trouble{.down = true};
  EXPECT_THAT(Open(std::make_unique<TroubledKek>(Old(), &trouble)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("checking the KEK (kek_file old): token not present")));
}

// A rotation just begun (the new KEK's check value stored, no version under it yet) and the
// new KEK failing at the next start as a wrong tag would: refused, not recorded a second time.
TEST_F(KekRotationTest, AFaultyCurrentKekIsNotRecordedAgain) {
  CreateKeysUnderOldKek(1);
  ASSERT_THAT(Open(Rotating()), IsOk());
  KekTrouble trouble{.faulty = true};
  EXPECT_THAT(Open(TroubledRotation(&trouble)),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("has the fingerprint of stored KEK number 2"),
                             HasSubstr("did not open its check value"))));
  auto store = Open(Rotating());
  ASSERT_THAT(store, IsOk());
  auto listed = (*store)->ListKeks();
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->size(), 2u);
  ExpectEveryKeyOpens(**store);
}

TEST_F(KekRotationTest, AVersionFiveDatabaseKeepsItsKeysUnderKekOne) {
  CreateKeysUnderOldKek(2);
  {
    auto db = OpenBrokerDatabase(dir_ + "/broker.db");
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("CREATE TABLE kek_check(id INTEGER PRIMARY KEY CHECK (id = 1), "
                            "sealed BLOB NOT NULL, description TEXT NOT NULL, fingerprint TEXT "
                            "NOT NULL); INSERT INTO kek_check SELECT * FROM keks; DROP TABLE keks; "
                            "DROP INDEX key_versions_by_kek; ALTER TABLE key_versions DROP COLUMN "
                            "kek_id; DROP TABLE forgotten_machines; PRAGMA user_version = 5;"),
                IsOk());
  }
  EXPECT_THAT(Open(New()), StatusIs(absl::StatusCode::kFailedPrecondition));
  auto store = Open(Old());
  ASSERT_THAT(store, IsOk());
  ExpectEveryKeyOpens(**store);
  EXPECT_EQ((*(*store)->ListKeks())[0].key_versions, 4u);
}

}  // namespace
}  // namespace kb
