#include "keybroker/server/heap_trimmer.h"

#include <malloc.h>

#include <algorithm>
#include <utility>

namespace kb {

HeapTrimmer::HeapTrimmer(size_t min_drop, absl::Duration settle, Trim trim)
    : min_drop_(min_drop), settle_(settle), trim_(std::move(trim)) {}

void HeapTrimmer::Observe(size_t open, size_t peak, absl::Time now) {
  // Connections that came and went since the last call moved the count too.
  if (open != last_open_ || peak > open) {
    last_open_ = open;
    changed_at_ = now;
  }
  peak_ = std::max({peak_, peak, open});
  // gRPC frees a closed connection's buffers shortly after the socket goes: wait until the
  // count has stopped moving.
  if (peak_ - open < min_drop_ || now - changed_at_ < settle_) return;
  trim_();
  ++trims_;
  peak_ = open;
}

void HeapTrimmer::MallocTrim() { malloc_trim(0); }

}  // namespace kb
