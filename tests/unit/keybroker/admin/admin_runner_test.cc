#include "keybroker/admin/admin_runner.h"

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/request_deadline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// An audit log whose store is down: every append fails.
class DownAuditLog final : public AuditLog {
 public:
  absl::Status Append(const AuditRecord&) override {
    ++appends;
    append_deadline = RequestDeadline::Current();
    return absl::UnavailableError("PostgreSQL: no answer before the request's deadline");
  }
  absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery&) override { return Down(); }
  absl::StatusOr<AuditChainReport> Verify() override { return Down(); }
  absl::StatusOr<std::vector<MachineRelease>> LatestReleases(absl::string_view) override {
    return Down();
  }
  int appends = 0;
  absl::Time append_deadline;

 private:
  static absl::Status Down() { return absl::UnavailableError("down"); }
};

// The outcomes the metrics listener is told, in order.
class RecordingObserver final : public AdminObserver {
 public:
  void Observe(absl::string_view, absl::string_view, absl::string_view result) override {
    results.emplace_back(result);
  }
  std::vector<std::string> results;
};

class AdminRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(roles_.Grant("admin-amy", kRoleAdmin), IsOk()); }
  AdminCall Call(const AdminCaller& caller) {
    return AdminCall{.action = "create_key", .caller = caller, .needs = Permission::kManage};
  }

  RoleMap roles_;
  DownAuditLog audit_;
  FakeClock clock_;
  RecordingObserver observer_;
  AdminRunner runner_{&roles_, &audit_, &clock_, &observer_};
  AdminCaller admin_{.subject = "CN=admin-amy", .common_name = "admin-amy"};
};

// A call that did its work but could not record it fails: nothing unaudited succeeds.
TEST_F(AdminRunnerTest, ASuccessThatCannotBeRecordedIsUnavailable) {
  auto result =
      runner_.Run<int>(Call(admin_), [](AdminOutcome&) -> absl::StatusOr<int> { return 1; });
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("audit log unavailable: PostgreSQL: no answer")));
  EXPECT_EQ(audit_.appends, 1);
}

// A call that failed keeps its own error, so the operator sees why (usually the store that
// also failed its record), with a note that the record is missing.
TEST_F(AdminRunnerTest, AFailureKeepsItsOwnErrorWhenItCannotBeRecorded) {
  auto failed = runner_.Run<int>(Call(admin_), [](AdminOutcome&) -> absl::StatusOr<int> {
    return absl::AlreadyExistsError("key exists");
  });
  EXPECT_THAT(failed,
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr("key exists"),
                             HasSubstr("(not audited: audit log unavailable: PostgreSQL"))));
  AdminCaller nobody{.subject = "CN=nobody", .common_name = "nobody"};
  bool ran = false;
  auto denied = runner_.Run<int>(Call(nobody), [&](AdminOutcome&) -> absl::StatusOr<int> {
    ran = true;
    return 1;
  });
  EXPECT_FALSE(ran);
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("(not audited: ")));
  // The metrics count what the caller was told.
  EXPECT_EQ(observer_.results, (std::vector<std::string>{"failed", "denied"}));
  EXPECT_EQ(audit_.appends, 2);
}

// Under a request deadline the work stops three quarters of the way to it, and the audit
// record has the rest: work that ran up to the deadline would leave its change unrecorded.
TEST_F(AdminRunnerTest, TheWorkLeavesTheAuditRecordAQuarterOfTheTime) {
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  const RequestDeadline::Scope scope(deadline);
  absl::Time work_deadline;
  (void)runner_.Run<int>(Call(admin_), [&](AdminOutcome&) -> absl::StatusOr<int> {
    work_deadline = RequestDeadline::Current();
    return 1;
  });
  EXPECT_GT(work_deadline, deadline - absl::Seconds(11));
  EXPECT_LT(work_deadline, deadline - absl::Seconds(9));
  EXPECT_EQ(audit_.append_deadline, deadline);
  // Without a deadline there is nothing to share.
  const RequestDeadline::Override none(absl::InfiniteFuture());
  (void)runner_.Run<int>(Call(admin_), [&](AdminOutcome&) -> absl::StatusOr<int> {
    work_deadline = RequestDeadline::Current();
    return 1;
  });
  EXPECT_EQ(work_deadline, absl::InfiniteFuture());
}

}  // namespace
}  // namespace kb
