#ifndef KB_KEYBROKER_SERVER_HEAP_TRIMMER_H_
#define KB_KEYBROKER_SERVER_HEAP_TRIMMER_H_

#include <cstddef>
#include <functional>

#include "absl/time/time.h"

namespace kb {

// Gives memory back to the system after many connections have closed. Each idle TLS connection
// costs ~80 KiB inside gRPC's transport (docs/operations.md); when it closes, glibc keeps what
// was freed in its arenas, so the broker's RSS stays at its peak (measured: 107 MiB before and
// 10 s after 1,024 connections closed). malloc_trim(0) returns those free pages (measured: 32
// MiB). Trimming costs a pass over the heap with each arena locked in turn, so it runs only
// after at least `min_drop` connections went away and the count has settled for `settle`.
// Not thread-safe: the listener's accept thread owns it.
class HeapTrimmer {
 public:
  using Trim = std::function<void()>;

  explicit HeapTrimmer(size_t min_drop = 64, absl::Duration settle = absl::Seconds(2),
                       Trim trim = MallocTrim);

  // Called periodically with the number of connections open now and the most that were open
  // at once since the previous call (so that a burst shorter than the period counts).
  void Observe(size_t open, size_t peak, absl::Time now);

  int trims() const { return trims_; }

  // malloc_trim(0).
  static void MallocTrim();

 private:
  const size_t min_drop_;
  const absl::Duration settle_;
  const Trim trim_;
  size_t peak_ = 0;  // the most connections open since the last trim
  size_t last_open_ = 0;
  absl::Time changed_at_ = absl::InfinitePast();
  int trims_ = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_HEAP_TRIMMER_H_
