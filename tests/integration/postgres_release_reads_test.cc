// PgReleaseReads (a release's reads in one query) against the same reads made one by one
// (SeparateReleaseReads) over the same PostgreSQL server, started by the test: every case a
// release distinguishes, and a change made through another replica seen by the next read.
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/postgres_store_fixture.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

class PostgresReleaseReadsTest : public PostgresStoreFixture {
 protected:
  // Two replicas over one empty database.
  void SetUp() override {
    PostgresStoreFixture::SetUp();
    a_ = Replica();
    b_ = Replica();
    ASSERT_NE(b_.release_reads, nullptr);
  }

  // Reads (key, machine, version) through replica B in one query and one by one, and expects
  // the same records. Returns the one-query records.
  ReleaseRecords ReadBothWays(const std::string& key, const std::string& machine,
                              uint32_t version) {
    SeparateReleaseReads separate(b_.keys, b_.denylist, b_.revocations);
    auto one = b_.release_reads->Read(key, machine, version);
    auto each = separate.Read(key, machine, version);
    EXPECT_THAT(one, IsOk());
    EXPECT_THAT(each, IsOk());
    if (!one.ok() || !each.ok()) return ReleaseRecords();
    const std::string where = absl::StrCat(key, "/", machine, "/v", version);
    EXPECT_EQ(one->denied.has_value(), each->denied.has_value()) << where;
    if (one->denied && each->denied) EXPECT_EQ(one->denied->reason, each->denied->reason);
    EXPECT_EQ(one->key.has_value(), each->key.has_value()) << where;
    if (!one->key || !each->key) return *std::move(one);
    EXPECT_EQ(one->key->disabled, each->key->disabled) << where;
    EXPECT_EQ(one->key->policy_version, each->key->policy_version) << where;
    EXPECT_EQ(one->key->policy_json, each->key->policy_json) << where;
    EXPECT_EQ(one->key->active_version, each->key->active_version) << where;
    EXPECT_EQ(one->key->latest_version, each->key->latest_version) << where;
    EXPECT_EQ(one->version.has_value(), each->version.has_value()) << where;
    if (one->version && each->version) {
      EXPECT_EQ(one->version->version, each->version->version) << where;
      EXPECT_EQ(one->version->retired, each->version->retired) << where;
      auto m1 = one->material();
      auto m2 = each->material();
      EXPECT_THAT(m1, IsOk());
      EXPECT_THAT(m2, IsOk());
      if (m1.ok() && m2.ok()) EXPECT_TRUE(ConstantTimeEquals(*m1, *m2)) << where;
    }
    auto r1 = one->revocation();
    auto r2 = each->revocation();
    EXPECT_THAT(r1, IsOk());
    EXPECT_THAT(r2, IsOk());
    if (r1.ok() && r2.ok()) {
      EXPECT_EQ(r1->has_value(), r2->has_value()) << where;
      if (r1->has_value() && r2->has_value()) EXPECT_EQ((*r1)->machine, (*r2)->machine) << where;
    }
    return *std::move(one);
  }

  BrokerStores a_, b_;
};

TEST_F(PostgresReleaseReadsTest, OneQueryReadsWhatTheSeparateReadsRead) {
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).key.has_value());  // no such key
  ASSERT_THAT(a_.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  ReleaseRecords fresh = ReadBothWays("disk", "vm-1", 0);
  ASSERT_TRUE(fresh.key.has_value());
  EXPECT_EQ(fresh.key->policy_version, 0u);
  ASSERT_TRUE(fresh.version.has_value());
  EXPECT_EQ(fresh.version->version, 1u);
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 2).version.has_value());  // no version 2 yet

  ASSERT_THAT(a_.keys->SetPolicy("disk", R"({"allow":[]})", std::nullopt), IsOk());
  ASSERT_THAT(a_.keys->AddVersion("disk", 2, *RandomSecret(32), absl::Now()), IsOk());
  ASSERT_THAT(a_.keys->RetireVersion("disk", 1), IsOk());
  EXPECT_EQ(ReadBothWays("disk", "vm-1", 0).version->version, 2u);
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 1).version->retired);
  EXPECT_EQ(ReadBothWays("disk", "vm-1", 0).key->policy_json, R"({"allow":[]})");

  // Revocations: every machine's, then the machine's own (which wins).
  ASSERT_THAT(a_.revocations->Revoke({"disk", "", "incident", "op", absl::Now()}), IsOk());
  EXPECT_EQ((*ReadBothWays("disk", "vm-1", 0).revocation())->machine, "");
  ASSERT_THAT(a_.revocations->Revoke({"disk", "vm-1", "lost", "op", absl::Now()}), IsOk());
  EXPECT_EQ((*ReadBothWays("disk", "vm-1", 0).revocation())->machine, "vm-1");
  EXPECT_EQ((*ReadBothWays("disk", "vm-2", 0).revocation())->machine, "");

  // Whether the machine may hold an offline grant (the separate reads cannot tell: always).
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).may_hold_offline_grant);
  ASSERT_THAT(a_.grants->RecordRelease({"disk", "vm-1", 2, 3, absl::Now()}), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 0).may_hold_offline_grant);
  EXPECT_FALSE(ReadBothWays("disk", "vm-2", 0).may_hold_offline_grant);
  ASSERT_THAT(a_.grants->RecordRelease({"disk", "vm-1", 2, 0, absl::Now()}), IsOk());
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).may_hold_offline_grant);

  ASSERT_THAT(a_.keys->SetDisabled("disk", true), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 0).key->disabled);

  // A denied machine is refused before anything about the key matters.
  ASSERT_THAT(a_.denylist->Deny({"vm-1", "stolen", "op", absl::Now()}), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 0).denied.has_value());
  EXPECT_TRUE(ReadBothWays("missing", "vm-1", 0).denied.has_value());
  EXPECT_FALSE(ReadBothWays("disk", "vm-2", 0).denied.has_value());
  ASSERT_THAT(a_.denylist->Allow("vm-1"), IsOk());
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).denied.has_value());

  // Every version retired: no version to wrap.
  ASSERT_THAT(a_.keys->RetireVersion("disk", 2), IsOk());
  EXPECT_EQ(ReadBothWays("disk", "vm-1", 0).key->active_version, 0u);
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).version.has_value());
}

TEST_F(PostgresReleaseReadsTest, UnavailableWhileTheDatabaseIsDown) {
  ASSERT_THAT(a_.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  ASSERT_THAT(server_->Stop(/*immediate=*/true), IsOk());
  auto read = b_.release_reads->Read("disk", "vm-1", 0);
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  EXPECT_THAT(b_.release_reads->Read("disk", "vm-1", 0), IsOk());
}

}  // namespace
}  // namespace kb
