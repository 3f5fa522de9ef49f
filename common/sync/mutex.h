#ifndef KB_COMMON_SYNC_MUTEX_H_
#define KB_COMMON_SYNC_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KB_THREAD_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define KB_THREAD_SANITIZER 1
#endif

#ifdef KB_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>
#endif

namespace kb {

// absl::Mutex, visible to ThreadSanitizer. Debian's abseil is not built with TSan, so its
// Mutex's lock and unlock (atomics and futexes inside the library) carry no happens-before for
// TSan, which then reports every access under the lock as a race. In a TSan build this type
// tells TSan about each acquire and release; elsewhere it is absl::Mutex and nothing more.
// Same thread-safety annotations as absl::Mutex (ABSL_GUARDED_BY(mu_) works unchanged; the
// member functions themselves are exempt from the analysis, as absl's are: they lock `mu_` on
// behalf of `this`).
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  // absl's inline constructor registers its mutex with TSan; its destructor, compiled without
  // TSan, never unregisters it, so a later lock at the same address would inherit its history.
  ~Mutex() { Destroyed(); }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    mu_.Lock();
    Acquired();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Releasing();
    mu_.Unlock();
  }
  // absl::Mutex::AwaitWithTimeout: releases while it waits, holds again when it returns.
  // absl evaluates `condition` inside the library, holding the lock (in this thread or in the
  // one unlocking), and may release the lock after it without telling TSan: each evaluation is
  // bracketed by an acquire and a release.
  bool AwaitWithTimeout(const absl::Condition& condition, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    struct Seen {
      Mutex* mu;
      const absl::Condition* condition;
      bool Eval() {
        mu->Acquired();
        const bool met = condition->Eval();
        mu->Releasing();  // abseil may release the lock next, to wait
        return met;
      }
    } seen{this, &condition};
    Releasing();
    const bool met = mu_.AwaitWithTimeout(absl::Condition(&seen, &Seen::Eval), timeout);
    Acquired();
    return met;
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }

 private:
#ifdef KB_THREAD_SANITIZER
  void Acquired() { __tsan_acquire(this); }
  void Releasing() { __tsan_release(this); }
  void Destroyed() { __tsan_mutex_destroy(&mu_, 0); }
#else
  void Acquired() {}
  void Releasing() {}
  void Destroyed() {}
#endif

  absl::Mutex mu_;
};

// absl::MutexLock for kb::Mutex.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

}  // namespace kb

#endif  // KB_COMMON_SYNC_MUTEX_H_
