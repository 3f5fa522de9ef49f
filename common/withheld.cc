#include "common/withheld.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace kb {

bool IsBrokerSideError(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsInternal(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsUnknown(s);
}

absl::Status WithheldFromClient(absl::string_view action, const absl::Status& failure) {
  LogError("%s failed on the broker's side: %s", action, failure.ToString());
  return absl::Status(failure.code(),
                      absl::StrCat(action, " failed on the broker's side (",
                                   absl::StatusCodeToString(failure.code()),
                                   "): try again or another broker; the broker's log says why"));
}

}  // namespace kb
