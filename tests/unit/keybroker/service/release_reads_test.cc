// The release service over a ReleaseReads that knows whether a machine holds an offline grant
// (as the PostgreSQL store's one query and the SQLite store's reads do): a release without offline
// grace writes nothing to the grants when there is no grant to remove, and still removes one that
// exists; a store's failure reaches the guest without the store's detail.
#include <algorithm>
#include <optional>

#include "common/request_deadline.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

// SeparateReleaseReads, told by the grants themselves whether the machine holds one.
class GrantAwareReads final : public ReleaseReads {
 public:
  GrantAwareReads(ReleaseReads* reads, OfflineGrants* grants) : reads_(reads), grants_(grants) {}
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) override {
    ASSIGN_OR_RETURN(ReleaseRecords out, reads_->Read(question));
    ASSIGN_OR_RETURN(std::vector<OfflineGrantRecord> grants, grants_->ListGrants(question.key_id));
    out.may_hold_offline_grant = std::any_of(
        grants.begin(), grants.end(), [&](const auto& g) { return g.machine == out.machine; });
    return out;
  }

 private:
  ReleaseReads* reads_;
  OfflineGrants* grants_;
};

// Counts the grant writes of releases.
class CountingGrants final : public OfflineGrants {
 public:
  explicit CountingGrants(OfflineGrants* grants) : grants_(grants) {}
  absl::Status RecordRelease(const OfflineGrantRecord& r) override {
    ++writes;
    return grants_->RecordRelease(r);
  }
  absl::StatusOr<std::vector<OfflineGrantRecord>> ListGrants(absl::string_view key_id) override {
    return grants_->ListGrants(key_id);
  }
  int writes = 0;

 private:
  OfflineGrants* grants_;
};

class ReleaseReadsTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    separate_.emplace(SeparateReleaseReads::Stores{challenges_.get(), aks_.get(), keys_.get(),
                                                   denylist_.get(), revocations_.get()});
    grants_.emplace(machine_keys_.get());
    reads_.emplace(&*separate_, &*grants_);
    ReleaseService::Deps deps = ReleaseDeps();
    deps.grants = &*grants_;
    deps.reads = &*reads_;
    release_ = std::make_unique<ReleaseService>(deps, absl::Seconds(60));
    RegisterAk(*tpm_, "web-1");
    CreateKey("disk");
  }
  void Policy(int offline_boots) {
    std::string policy = Pcr7PolicyFor("web-1");
    policy.insert(policy.find(R"("name":"r1",)") + 12,
                  absl::StrCat(R"("offline_boots":)", offline_boots, ","));
    ASSERT_THAT(SetPolicy("disk", policy), IsOk());
  }
  size_t Grants() { return machine_keys_->ListGrants("disk")->size(); }
  // Releases without grace, with, and without again: a grant is written only when there is one
  // to record or to remove.
  void ExpectOnlyAnExistingGrantRemoved();

  // Made in SetUp, over the fixture's stores.
  std::optional<SeparateReleaseReads> separate_;
  std::optional<CountingGrants> grants_;
  std::optional<GrantAwareReads> reads_;
};

TEST_F(ReleaseReadsTest, AReleaseWithoutGraceRemovesOnlyAGrantThatExists) {
  ExpectOnlyAnExistingGrantRemoved();
}

// The same through the SQLite store's own reads (one read transaction), as keybrokerd runs.
TEST_F(ReleaseReadsTest, TheSqliteReadsRemoveOnlyAGrantThatExists) {
  ReleaseService::Deps deps = ReleaseDeps();
  deps.grants = &*grants_;
  release_ = std::make_unique<ReleaseService>(deps, absl::Seconds(60));
  ExpectOnlyAnExistingGrantRemoved();
}

void ReleaseReadsTest::ExpectOnlyAnExistingGrantRemoved() {
  Policy(0);
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  EXPECT_EQ(grants_->writes, 0);  // no grant to remove: nothing written
  Policy(4);
  ASSERT_EQ(Release(*tpm_, "disk")->offline_boots(), 4u);
  EXPECT_EQ(grants_->writes, 1);
  EXPECT_EQ(Grants(), 1u);
  Policy(0);
  ASSERT_EQ(Release(*tpm_, "disk")->offline_boots(), 0u);
  EXPECT_EQ(grants_->writes, 2);  // the grant the machine held is removed
  EXPECT_EQ(Grants(), 0u);
  ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  EXPECT_EQ(grants_->writes, 2);
}

// The release's reads under a deadline the client chose so short that it has passed: they
// still get the audit record's floor (kAuditRecordFloor), so the attempt is decided and
// audited one by one, not cut short into a bare count.
class DeadlineRecordingReads final : public ReleaseReads {
 public:
  explicit DeadlineRecordingReads(ReleaseReads* reads) : reads_(reads) {}
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) override {
    seen = RequestDeadline::Current();
    return reads_->Read(question);
  }
  absl::Time seen;

 private:
  ReleaseReads* reads_;
};

TEST_F(ReleaseReadsTest, TheReadsGetTheAuditFloorWhateverTheClientsDeadline) {
  DeadlineRecordingReads recording(&*reads_);
  ReleaseService::Deps deps = ReleaseDeps();
  deps.grants = &*grants_;
  deps.reads = &recording;
  release_ = std::make_unique<ReleaseService>(deps, absl::Seconds(60));
  Policy(0);
  const absl::Time start = absl::Now();
  {
    const RequestDeadline::Scope passed(start - absl::Seconds(1));
    ASSERT_THAT(Release(*tpm_, "disk"), IsOk());
  }
  EXPECT_GE(recording.seen, start + kAuditRecordFloor);
}

// A store whose errors name the database's hosts and addresses, as libpq's do.
class UnreachableStore final : public ReleaseReads {
 public:
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion&) override {
    return absl::UnavailableError(
        "PostgreSQL host=db.internal dbname=kb user=kb: connection to server at \"10.0.0.5\", "
        "port 5432 failed: Connection refused");
  }
};

TEST_F(ReleaseReadsTest, AStoreFailureReachesTheGuestWithoutItsDetail) {
  UnreachableStore down;
  ReleaseService::Deps deps = ReleaseDeps();
  deps.reads = &down;
  release_ = std::make_unique<ReleaseService>(deps, absl::Seconds(60));
  Policy(0);
  auto released = Release(*tpm_, "disk");
  EXPECT_THAT(released,
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::HasSubstr("failed on the broker's side (UNAVAILABLE)")));
  for (const char* detail : {"db.internal", "10.0.0.5", "user=kb"}) {
    EXPECT_THAT(std::string(released.status().message()),
                ::testing::Not(::testing::HasSubstr(detail)));
  }
}

}  // namespace
}  // namespace kb
