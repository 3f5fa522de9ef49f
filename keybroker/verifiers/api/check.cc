#include "keybroker/verifiers/api/check.h"

#include "absl/strings/str_cat.h"

namespace kb {

absl::Status CheckFailed(absl::string_view check, absl::StatusCode code, absl::string_view detail) {
  return absl::Status(code, absl::StrCat("evidence check '", check, "' failed: ", detail));
}

}  // namespace kb
