#include "keybroker/store/group_commit.h"

#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/request_deadline.h"
#include "gtest/gtest.h"

namespace kb {
namespace {

struct Written {
  std::vector<int> items;
  absl::Time deadline;
};

// A group commit whose first batch is held by the test while it is written.
class GroupCommitTest : public ::testing::Test {
 protected:
  absl::Status Write(const std::vector<int*>& batch) {
    Written w{{}, RequestDeadline::Current()};
    for (const int* i : batch) w.items.push_back(*i);
    batches_.push_back(w);  // one writer at a time
    if (batches_.size() == 1) {
      first_writing_.Notify();
      release_first_.WaitForNotification();
    }
    return absl::OkStatus();
  }
  absl::Status Submit(int item) {
    return commits_.Submit(item, [this](const std::vector<int*>& b) { return Write(b); });
  }
  std::thread SubmitIn(int item, absl::Time deadline, absl::Status* status) {
    return std::thread([this, item, deadline, status] {
      const RequestDeadline::Scope scope(deadline);
      *status = Submit(item);
    });
  }
  // Waits (bounded) until `n` items are queued behind the batch being written.
  void AwaitQueued(size_t n) {
    for (int i = 0; i < 2000 && commits_.queued() < n; ++i) absl::SleepFor(absl::Milliseconds(5));
    ASSERT_EQ(commits_.queued(), n);
  }

  GroupCommit<int> commits_;
  absl::Notification first_writing_, release_first_;
  std::vector<Written> batches_;
};

// A batch is written under the latest request deadline of its callers: one caller's short
// deadline (a client may set any) cannot cut the write of the others' items short, and a
// caller without one lifts the bound for its batch.
TEST_F(GroupCommitTest, ABatchIsWrittenUnderItsCallersLatestDeadline) {
  const absl::Time now = absl::Now();
  absl::Status s1, s2, s3;
  std::thread first = SubmitIn(1, now + absl::Seconds(1), &s1);
  first_writing_.WaitForNotification();
  // Two more queue while the first batch is written; they make the second batch, written by
  // either (most often the one that queued first, which has the earlier deadline).
  std::thread sooner = SubmitIn(2, now + absl::Seconds(20), &s2);
  AwaitQueued(1);
  std::thread later = SubmitIn(3, now + absl::Seconds(50), &s3);
  AwaitQueued(2);
  release_first_.Notify();
  for (std::thread* t : {&first, &sooner, &later}) t->join();
  for (const absl::Status& s : {s1, s2, s3}) EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(batches_.size(), 2u);
  EXPECT_EQ(batches_[0].deadline, now + absl::Seconds(1));
  EXPECT_EQ(batches_[1].items.size(), 2u);
  EXPECT_EQ(batches_[1].deadline, now + absl::Seconds(50));

  // A caller without a deadline, in a batch of its own.
  EXPECT_TRUE(Submit(4).ok());
  EXPECT_EQ(batches_.back().deadline, absl::InfiniteFuture());
}

// A caller whose deadline passes while the batch ahead of it is still being written (a store
// that does not answer) returns then, and its item is not written later.
TEST_F(GroupCommitTest, ACallerLeavesAtItsDeadlineAndItsQueuedItemIsDropped) {
  absl::Status s1, s2;
  std::thread stuck = SubmitIn(1, absl::InfiniteFuture(), &s1);
  first_writing_.WaitForNotification();
  const absl::Time start = absl::Now();
  std::thread waiting = SubmitIn(2, start + absl::Milliseconds(300), &s2);
  waiting.join();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(s2.code(), absl::StatusCode::kUnavailable) << s2;
  EXPECT_NE(s2.message().find("not written"), absl::string_view::npos) << s2;
  EXPECT_EQ(commits_.queued(), 0u);
  release_first_.Notify();
  stuck.join();
  EXPECT_TRUE(s1.ok()) << s1;
  EXPECT_TRUE(Submit(3).ok());
  ASSERT_EQ(batches_.size(), 2u);
  EXPECT_EQ(batches_[1].items, std::vector<int>{3});
}

// An item gets at least the floor to be written, however early its caller's deadline: a
// client cannot have its own audit record dropped by a deadline that passes first.
TEST(GroupCommitFloorTest, AnItemGetsAtLeastTheFloor) {
  GroupCommit<int> commits(absl::Seconds(30));
  const absl::Time start = absl::Now();
  const RequestDeadline::Scope passed(start - absl::Seconds(1));
  absl::Time written_under;
  EXPECT_TRUE(commits
                  .Submit(1,
                          [&](const std::vector<int*>&) {
                            written_under = RequestDeadline::Current();
                            return absl::OkStatus();
                          })
                  .ok());
  EXPECT_GE(written_under, start + absl::Seconds(30));
}

TEST(GroupCommitFloorTest, AWaiterWhoseDeadlinePassedStillWaitsTheFloor) {
  GroupCommit<int> floored(absl::Milliseconds(400));
  absl::Notification writing, release;
  const auto stuck_write = [&](const std::vector<int*>&) {
    writing.Notify();
    release.WaitForNotification();
    return absl::OkStatus();
  };
  std::thread stuck([&] { EXPECT_TRUE(floored.Submit(1, stuck_write).ok()); });
  writing.WaitForNotification();
  const absl::Time start = absl::Now();
  absl::Status waited;
  {
    const RequestDeadline::Scope passed(start - absl::Seconds(1));
    waited = floored.Submit(2, [](const std::vector<int*>&) { return absl::OkStatus(); });
  }
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(400));
  EXPECT_EQ(waited.code(), absl::StatusCode::kUnavailable) << waited;
  release.Notify();
  stuck.join();
}

// A write that throws (out of memory, say) ends its batch: the next one is written.
TEST(GroupCommitThrowTest, AWriteThatThrowsDoesNotStopTheNextBatches) {
  GroupCommit<int> commits;
  EXPECT_THROW((void)commits.Submit(1,
                                    [](const std::vector<int*>&) -> absl::Status {
                                      throw std::runtime_error("no memory");
                                    }),
               std::runtime_error);
  const RequestDeadline::Scope scope(absl::Now() + absl::Seconds(5));  // not forever if jammed
  EXPECT_TRUE(commits.Submit(2, [](const std::vector<int*>&) { return absl::OkStatus(); }).ok());
}

}  // namespace
}  // namespace kb
