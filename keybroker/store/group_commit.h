#ifndef KB_KEYBROKER_STORE_GROUP_COMMIT_H_
#define KB_KEYBROKER_STORE_GROUP_COMMIT_H_

#include <algorithm>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/request_deadline.h"

namespace kb {

// Group commit: concurrent Submit() calls queue their items; one caller at a time (the holder
// of the commit lock) writes every item queued so far with one `write` (one transaction, one
// fsync or one PostgreSQL commit), so while one batch is being written the next one gathers.
// Each caller returns once its own item was written, with the status of its batch.
// A batch is written under the latest RequestDeadline of its callers (none if one has none),
// so a caller with a short deadline cannot cut the others' write short; a caller waits for
// the batch ahead of its own, then for its own.
template <typename T>
class GroupCommit {
 public:
  using Writer = absl::FunctionRef<absl::Status(const std::vector<T*>& batch)>;

  absl::Status Submit(T& item, Writer write) {
    Pending mine{&item, RequestDeadline::Current()};
    {
      std::lock_guard<std::mutex> queue_lock(queue_mu_);
      queue_.push_back(&mine);
    }
    // `mine` stays alive: its owner blocks here until it is done.
    std::lock_guard<std::mutex> commit_lock(commit_mu_);
    if (!mine.done) {
      std::vector<Pending*> batch;
      {
        std::lock_guard<std::mutex> queue_lock(queue_mu_);
        batch.swap(queue_);
      }
      std::vector<T*> items;
      absl::Time latest = absl::InfinitePast();
      for (Pending* p : batch) {
        items.push_back(p->item);
        latest = std::max(latest, p->deadline);
      }
      absl::Status s;
      {
        const RequestDeadline::Override deadline(latest);
        s = write(items);
      }
      for (Pending* p : batch) {
        p->status = s;
        p->done = true;
      }
    }
    return mine.status;
  }

 private:
  struct Pending {
    T* item;
    absl::Time deadline;  // the caller's RequestDeadline
    bool done = false;    // written and read under commit_mu_
    absl::Status status;
  };
  std::mutex commit_mu_;
  std::mutex queue_mu_;
  std::vector<Pending*> queue_;  // guarded by queue_mu_
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_GROUP_COMMIT_H_
