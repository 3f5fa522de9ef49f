#ifndef KB_KEYBROKER_STORE_GROUP_COMMIT_H_
#define KB_KEYBROKER_STORE_GROUP_COMMIT_H_

#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace kb {

// Group commit: concurrent Submit() calls queue their items; one caller at a time (the holder
// of the commit lock) writes every item queued so far with one `write` (one transaction, one
// fsync or one PostgreSQL commit), so while one batch is being written the next one gathers.
// Each caller returns once its own item was written, with the status of its batch.
template <typename T>
class GroupCommit {
 public:
  using Writer = absl::FunctionRef<absl::Status(const std::vector<T*>& batch)>;

  absl::Status Submit(T& item, Writer write) {
    Pending mine{&item};
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
      for (Pending* p : batch) items.push_back(p->item);
      const absl::Status s = write(items);
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
    bool done = false;  // written and read under commit_mu_
    absl::Status status;
  };
  std::mutex commit_mu_;
  std::mutex queue_mu_;
  std::vector<Pending*> queue_;  // guarded by queue_mu_
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_GROUP_COMMIT_H_
