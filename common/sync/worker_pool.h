#ifndef KB_COMMON_SYNC_WORKER_POOL_H_
#define KB_COMMON_SYNC_WORKER_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kb {

// A fixed set of threads running queued tasks in order. The admin service's calls run here, not
// on gRPC's event threads: an operator's long call (a KEK rotation, an audit chain check over
// every record) must not hold the threads that answer guests' releases. std::mutex and
// std::condition_variable, which ThreadSanitizer sees (Debian's abseil is not instrumented).
class WorkerPool {
 public:
  // `threads` workers; at most `max_queued` tasks wait beyond the ones running.
  WorkerPool(size_t threads, size_t max_queued);
  // Runs the tasks still queued, then joins the workers.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` is dropped, not run) when `max_queued` tasks wait already.
  bool Submit(std::function<void()> task);

 private:
  void Work();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace kb

#endif  // KB_COMMON_SYNC_WORKER_POOL_H_
