#include "common/sync/worker_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"

namespace kb {
namespace {

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
bool HoldAWorker(
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

TEST(WorkerPoolTest, RunsEveryTaskOnItsOwnThreads) {
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2, 100);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(pool.Submit([&] {
        std::lock_guard<std::mutex> lock(mu);
        threads.insert(std::this_thread::get_id());
        ++ran;
      }));
    }
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(ran.load(), 50);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(threads.size(), 2u);
}

TEST(WorkerPoolTest, RefusesTasksBeyondTheQueueAndRunsTheOthers) {
  Gate gate;
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, 2);
    EXPECT_TRUE(HoldAWorker(pool, gate, [&] { ++ran; }));
    EXPECT_TRUE(pool.Submit([&] { ++ran; }));
    EXPECT_TRUE(pool.Submit([&] { ++ran; }));
    EXPECT_FALSE(pool.Submit([&] { ran += 100; }));  // two wait already: refused, never run
    gate.Open();
  }
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkerPoolTest, AcceptsAgainOnceTheQueueDrains) {
  Gate gate;
  std::atomic<int> ran{0};
  WorkerPool pool(1, 1);
  EXPECT_TRUE(HoldAWorker(pool, gate));
  EXPECT_TRUE(pool.Submit([&] { ++ran; }));
  EXPECT_FALSE(pool.Submit([&] { ++ran; }));  // full
  gate.Open();
  ASSERT_TRUE(Eventually([&] { return ran.load() == 1; }));
  EXPECT_TRUE(pool.Submit([&] { ++ran; }));  // drained: taken again
  EXPECT_TRUE(Eventually([&] { return ran.load() == 2; }));
}

}  // namespace
}  // namespace kb
