#include "common/request_deadline.h"

#include <algorithm>

namespace kb {
namespace {

thread_local absl::Time current_deadline = absl::InfiniteFuture();

}  // namespace

RequestDeadline::Override::Override(absl::Time deadline) : outer_(current_deadline) {
  current_deadline = deadline;
}

RequestDeadline::Override::~Override() { current_deadline = outer_; }

absl::Time RequestDeadline::Current() { return current_deadline; }

absl::Time RequestDeadline::AtLeast(absl::Time now, absl::Duration floor) {
  return std::max(current_deadline, now + floor);
}

absl::Time RequestDeadline::Bound(absl::Time now, absl::Duration timeout) {
  return std::min(now + timeout, current_deadline);
}

}  // namespace kb
