#ifndef KB_COMMON_WITHHELD_H_
#define KB_COMMON_WITHHELD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kb {

// UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED or UNKNOWN: the broker failed, not the request.
bool IsBrokerSideError(const absl::Status& s);

// What a client that has not authenticated (a guest) is told of such a failure of `action`:
// its code, without the detail (a database's hosts, addresses and names), which is logged.
absl::Status WithheldFromClient(absl::string_view action, const absl::Status& failure);

}  // namespace kb

#endif  // KB_COMMON_WITHHELD_H_
