#ifndef KB_COMMON_REQUEST_DEADLINE_H_
#define KB_COMMON_REQUEST_DEADLINE_H_

#include <algorithm>

#include "absl/time/time.h"

namespace kb {

// The deadline of the request the calling thread is working for, so that a blocking call far
// below the service (a database round trip, a wait for a pooled connection) ends when its
// caller has stopped waiting, without every interface in between carrying it. The gRPC
// adapters set it for the length of each call; a call below reads it and bounds its own wait
// by the earlier of it and its own timeout.
class RequestDeadline {
 public:
  // Sets the calling thread's request deadline to exactly `deadline` (later than an outer
  // scope's, or infinite, too) for the life of the scope, and restores the one before it when
  // it ends: for work done on behalf of others than the request the thread serves (a group
  // commit's batch, counts flushed on the way). Scopes nest on one thread only.
  class Override {
   public:
    explicit Override(absl::Time deadline);
    ~Override();
    Override(const Override&) = delete;
    Override& operator=(const Override&) = delete;

   private:
    absl::Time outer_;
  };

  // An Override that never outlasts the deadline already set: `deadline`, or the outer
  // scope's when that one is earlier.
  class Scope : public Override {
   public:
    explicit Scope(absl::Time deadline) : Override(std::min(deadline, Current())) {}
  };

  // The calling thread's request deadline; absl::InfiniteFuture() outside any scope.
  static absl::Time Current();

  // The later of Current() and `now + floor`: for work a request's short deadline must not cut
  // short (its audit record, say), under an Override.
  static absl::Time AtLeast(absl::Time now, absl::Duration floor);

  // The earlier of `now + timeout` and Current(): how long a wait started now may last.
  static absl::Time Bound(absl::Time now, absl::Duration timeout);
};

}  // namespace kb

#endif  // KB_COMMON_REQUEST_DEADLINE_H_
