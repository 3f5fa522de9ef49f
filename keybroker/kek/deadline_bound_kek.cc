#include "keybroker/kek/deadline_bound_kek.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/request_deadline.h"

namespace kb {

// std::mutex and std::condition_variable, which ThreadSanitizer sees.
struct DeadlineBoundKek::Calls {
  Calls(size_t max, std::shared_ptr<KekCallTally> t) : max_calls(max), tally(std::move(t)) {}
  const size_t max_calls;
  const std::shared_ptr<KekCallTally> tally;  // in_kek is its `waiting` share
  std::mutex mu;
  std::condition_variable work;             // a call queued, or stopping
  std::deque<std::function<void()>> queue;  // guarded by mu
  size_t calls = 0;                         // queued or running; guarded by mu
  size_t in_kek = 0;      // queued or not yet returned from the KEK; guarded by mu
  size_t spare = 0;       // threads starting or waiting for a call, not in one; guarded by mu
  bool stopping = false;  // guarded by mu
};

namespace {

using Calls = DeadlineBoundKek::Calls;

// One thread: runs queued calls until the DeadlineBoundKek goes and the queue is empty.
void Work(std::shared_ptr<Calls> c) {
  std::unique_lock<std::mutex> lock(c->mu);
  for (;;) {  // counted in c->spare here, from the Submit that started it
    c->work.wait(lock, [&c] { return c->stopping || !c->queue.empty(); });
    if (c->queue.empty()) {
      --c->spare;
      return;
    }
    std::function<void()> call = std::move(c->queue.front());
    c->queue.pop_front();
    --c->spare;
    lock.unlock();
    call();
    call = nullptr;  // a result nobody waits for goes (wiped) before the call is counted
    lock.lock();
    --c->calls;
    ++c->spare;
  }
}

// Queues `call` for a thread, starting one when every thread is in a call (so that no call
// waits behind one that hangs). Threads in a call + spare threads < queued + running calls
// <= max_calls before a thread is started, so there are never more than max_calls threads.
// UNAVAILABLE when max_calls calls are queued or running already, or no thread could be started.
absl::Status Submit(const std::shared_ptr<Calls>& c, std::function<void()> call) {
  std::unique_lock<std::mutex> lock(c->mu);
  if (c->calls >= c->max_calls) {
    ++c->tally->refused;
    return absl::UnavailableError(
        absl::StrCat(c->max_calls,
                     " calls to the KEK are still waiting for its answer (is the HSM answering?)"));
  }
  c->queue.push_back(std::move(call));
  ++c->calls;
  ++c->in_kek;
  ++c->tally->waiting;
  if (c->queue.size() <= c->spare) {
    lock.unlock();  // so that the thread woken does not wait for it
    c->work.notify_one();
    return absl::OkStatus();
  }
  try {
    std::thread(Work, c).detach();
    ++c->spare;
  } catch (const std::exception& e) {  // no thread (or memory) to be had
    c->queue.pop_back();
    --c->calls;
    --c->in_kek;
    --c->tally->waiting;
    ++c->tally->refused;
    return absl::UnavailableError(absl::StrCat("no thread to call the KEK on: ", e.what()));
  }
  return absl::OkStatus();
}

// Where a thread leaves a call's answer for its caller, who may have left.
template <typename T>
struct Answer {
  std::mutex mu;
  std::condition_variable ready;
  std::optional<absl::StatusOr<T>> result;  // guarded by mu
};

// `call(kek)` on one of `c`'s threads, waited for until `deadline`. `kek` outlives the call: the
// DeadlineBoundKek keeps it while a call is queued or in it (c->in_kek).
template <typename T>
absl::StatusOr<T> CallUntil(const std::shared_ptr<Calls>& c, Kek* kek, absl::Time deadline,
                            std::function<absl::StatusOr<T>(Kek&)> call) {
  if (absl::Now() >= deadline) {
    return absl::UnavailableError("the request's deadline passed before the KEK was asked");
  }
  auto answer = std::make_shared<Answer<T>>();
  absl::Status queued = Submit(c, [answer, kek, calls = c.get(), call = std::move(call)] {
    absl::StatusOr<T> result = call(*kek);
    {
      std::lock_guard<std::mutex> lock(calls->mu);  // the thread holds `calls`
      --calls->in_kek;
      --calls->tally->waiting;
    }
    {
      std::lock_guard<std::mutex> lock(answer->mu);
      answer->result = std::move(result);
    }
    answer->ready.notify_one();  // after the unlock, so that the caller woken does not wait for it
  });
  if (!queued.ok()) return queued;
  std::unique_lock<std::mutex> lock(answer->mu);
  if (!answer->ready.wait_until(lock, absl::ToChronoTime(deadline),
                                [&answer] { return answer->result.has_value(); })) {
    ++c->tally->abandoned;
    return absl::UnavailableError(
        "the KEK did not answer before the request's deadline (the call goes on, and its "
        "result is dropped; is the HSM answering?)");
  }
  return *std::move(answer->result);
}

}  // namespace

DeadlineBoundKek::DeadlineBoundKek(std::unique_ptr<Kek> kek, size_t max_calls,
                                   std::shared_ptr<KekCallTally> tally)
    : description_(kek->Describe()),
      fingerprint_(kek->Fingerprint()),
      kek_(std::move(kek)),
      calls_(std::make_shared<Calls>(
          max_calls, tally != nullptr ? std::move(tally) : std::make_shared<KekCallTally>())) {}

DeadlineBoundKek::~DeadlineBoundKek() {
  std::lock_guard<std::mutex> lock(calls_->mu);
  calls_->stopping = true;
  calls_->work.notify_all();
  if (calls_->in_kek > 0) {
    // A call still in the KEK (a PKCS#11 module) may return at any time, during the process's
    // exit too: the KEK is then never destroyed, so that its module is never finalized under a
    // call or after the libraries it uses have gone.
    static std::mutex kept_mu;
    static auto* const kept = new std::vector<std::unique_ptr<Kek>>;
    std::lock_guard<std::mutex> keep(kept_mu);
    kept->push_back(std::move(kek_));
  }
}

absl::StatusOr<std::string> DeadlineBoundKek::Seal(const SecretBytes& plaintext,
                                                   absl::string_view aad) {
  const absl::Time deadline = RequestDeadline::Current();
  if (deadline == absl::InfiniteFuture()) return kek_->Seal(plaintext, aad);
  // The call may outlive this one's arguments: it gets copies.
  return CallUntil<std::string>(
      calls_, kek_.get(), deadline,
      [plaintext = std::make_shared<const SecretBytes>(plaintext.Clone()),
       aad = std::string(aad)](Kek& kek) { return kek.Seal(*plaintext, aad); });
}

absl::StatusOr<SecretBytes> DeadlineBoundKek::Open(absl::string_view sealed,
                                                   absl::string_view aad) {
  const absl::Time deadline = RequestDeadline::Current();
  if (deadline == absl::InfiniteFuture()) return kek_->Open(sealed, aad);
  return CallUntil<SecretBytes>(calls_, kek_.get(), deadline,
                                [sealed = std::string(sealed), aad = std::string(aad)](Kek& kek) {
                                  return kek.Open(sealed, aad);
                                });
}

}  // namespace kb
