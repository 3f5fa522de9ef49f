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
#include "tests/support/worker_gate.h"

namespace kb {
namespace {

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
