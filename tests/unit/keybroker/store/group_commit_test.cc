#include "keybroker/store/group_commit.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/request_deadline.h"
#include "gtest/gtest.h"

namespace kb {
namespace {

struct Written {
  size_t items = 0;
  absl::Time deadline;
};

// A batch is written under the latest request deadline of its callers: one caller's short
// deadline (a client may set any) cannot cut the write of the others' items short, and a
// caller without one lifts the bound for its batch.
TEST(GroupCommitTest, ABatchIsWrittenUnderItsCallersLatestDeadline) {
  GroupCommit<int> commits;
  const absl::Time now = absl::Now();
  absl::Notification first_writing, release_first;
  std::vector<Written> batches;  // written under the commit lock, read after the joins
  const auto write = [&](const std::vector<int*>& batch) {
    batches.push_back({batch.size(), RequestDeadline::Current()});
    if (batches.size() == 1) {
      first_writing.Notify();
      release_first.WaitForNotification();
    }
    return absl::OkStatus();
  };
  const auto submit = [&](absl::Time deadline) {
    return std::thread([&, deadline] {
      const RequestDeadline::Scope scope(deadline);
      int item = 0;
      EXPECT_TRUE(commits.Submit(item, write).ok());
    });
  };
  std::thread first = submit(now + absl::Seconds(1));
  first_writing.WaitForNotification();
  // Two more queue while the first batch is written; they make the second batch, written by
  // either (most often the one that queued first, which has the earlier deadline).
  std::thread sooner = submit(now + absl::Seconds(20));
  absl::SleepFor(absl::Milliseconds(100));
  std::thread later = submit(now + absl::Seconds(50));
  absl::SleepFor(absl::Milliseconds(500));
  release_first.Notify();
  for (std::thread* t : {&first, &later, &sooner}) t->join();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].items, 1u);
  EXPECT_EQ(batches[0].deadline, now + absl::Seconds(1));
  EXPECT_EQ(batches[1].items, 2u);
  EXPECT_EQ(batches[1].deadline, now + absl::Seconds(50));

  // A caller without a deadline, in a batch of its own.
  int item = 0;
  EXPECT_TRUE(commits.Submit(item, write).ok());
  EXPECT_EQ(batches.back().deadline, absl::InfiniteFuture());
}

}  // namespace
}  // namespace kb
