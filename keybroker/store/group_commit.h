#ifndef KB_KEYBROKER_STORE_GROUP_COMMIT_H_
#define KB_KEYBROKER_STORE_GROUP_COMMIT_H_

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/request_deadline.h"

namespace kb {

// Group commit: concurrent Submit() calls queue their items; one caller at a time writes
// every item queued so far with one `write` (one transaction, one fsync or one PostgreSQL
// commit), so while one batch is being written the next one gathers. Each caller returns once
// its own item was written, with the status of its batch.
//
// Deadlines: an item's deadline is its caller's RequestDeadline, but at least `floor` after
// it was submitted, so a client cannot have its own record dropped by choosing a deadline that
// passes just before it is written. A batch is written under the latest deadline of its items
// (none if one has none), so one caller's short deadline cannot cut the others' write short.
// A caller whose item's deadline passes while it waits returns UNAVAILABLE then: the item is
// dropped if it was still queued, and may still be stored if it was in the batch being written.
template <typename T>
class GroupCommit {
 public:
  using Writer = absl::FunctionRef<absl::Status(const std::vector<T*>& batch)>;

  explicit GroupCommit(absl::Duration floor = absl::ZeroDuration()) : floor_(floor) {}

  absl::Status Submit(T item, Writer write) {
    const absl::Time deadline = RequestDeadline::AtLeast(absl::Now(), floor_);
    auto mine = std::make_shared<Pending>(std::move(item), deadline);
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(mine);
    while (!mine->done) {
      if (!writing_) {
        WriteQueued(lock, write);
      } else if (!AwaitWriter(lock, mine->deadline) && !mine->done) {
        return GiveUp(mine);
      }
    }
    return mine->status;
  }

  // How many items wait for the next batch (for tests).
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  struct Pending {
    Pending(T i, absl::Time d) : item(std::move(i)), deadline(d) {}
    T item;
    absl::Time deadline;  // the caller's RequestDeadline, or the floor
    bool done = false;    // guarded by mu_
    absl::Status status;  // guarded by mu_
  };

  // Takes the queue as one batch and writes it with `lock` released.
  void WriteQueued(std::unique_lock<std::mutex>& lock, Writer write) {
    writing_ = true;
    std::vector<std::shared_ptr<Pending>> batch;
    batch.swap(queue_);
    lock.unlock();
    absl::Status s = absl::InternalError("writing the batch threw an exception");
    // However the write ends (an exception too), the batch is done and the next can begin.
    absl::Cleanup finish = [&] {
      lock.lock();
      for (const auto& p : batch) {
        p->status = s;
        p->done = true;
      }
      writing_ = false;
      written_.notify_all();
    };
    std::vector<T*> items;
    absl::Time latest = absl::InfinitePast();
    for (const auto& p : batch) {
      items.push_back(&p->item);
      latest = std::max(latest, p->deadline);
    }
    const RequestDeadline::Override deadline(latest);
    s = write(items);
  }

  // Waits until the batch being written is done; false once `deadline` passed first.
  bool AwaitWriter(std::unique_lock<std::mutex>& lock, absl::Time deadline) {
    if (deadline == absl::InfiniteFuture()) {
      written_.wait(lock);
      return true;
    }
    return written_.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::no_timeout;
  }

  absl::Status GiveUp(const std::shared_ptr<Pending>& mine) {
    auto it = std::find(queue_.begin(), queue_.end(), mine);
    if (it != queue_.end()) {
      queue_.erase(it);
      return absl::UnavailableError(
          "not written: the batch ahead of it was still being written at the request's deadline");
    }
    return absl::UnavailableError(
        "no outcome by the request's deadline: its batch is still being written and may be "
        "stored");
  }

  const absl::Duration floor_;
  std::mutex mu_;
  std::condition_variable written_;
  bool writing_ = false;                         // guarded by mu_
  std::vector<std::shared_ptr<Pending>> queue_;  // guarded by mu_
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_GROUP_COMMIT_H_
