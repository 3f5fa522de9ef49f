#ifndef KB_TESTS_SUPPORT_WORKER_GATE_H_
#define KB_TESTS_SUPPORT_WORKER_GATE_H_

// Holding a WorkerPool's workers from a test (header-only): the pool's own tests and the admin
// adapter's.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/sync/worker_pool.h"

namespace kb {

// A gate the test opens: tasks that wait on it hold their worker.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    opened_cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    opened_cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable opened_cv_;
  bool open_ = false;
};

// Waits up to 10 s for `done`; false if it did not happen (the test then fails, never hangs).
template <typename Done>
bool Eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Queues a task on `pool` that holds its worker until `gate` opens (then runs `after`), and
// waits until a worker has taken it. Check the result with EXPECT, not ASSERT, until the gate is
// open: the pool's destructor waits for the task.
inline bool HoldAWorker(
    WorkerPool& pool, Gate& gate, std::function<void()> after = [] {}) {
  auto started = std::make_shared<std::atomic<bool>>(false);
  if (!pool.Submit([&gate, started, after = std::move(after)] {
        *started = true;
        gate.Wait();
        after();
      })) {
    return false;
  }
  return Eventually([&] { return started->load(); });
}

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_WORKER_GATE_H_
