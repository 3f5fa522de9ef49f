#include "keybroker/store/key_store.h"

#include "absl/strings/str_cat.h"

namespace kb {

absl::Status KeyNotFoundError(absl::string_view key_id) {
  return absl::NotFoundError(absl::StrCat("no key '", key_id, "'"));
}

absl::Status PolicyChangedError(absl::string_view key_id, uint64_t expected, uint64_t now) {
  return absl::FailedPreconditionError(
      absl::StrCat("policy of key '", key_id, "' changed since version ", expected, " (now ", now,
                   "); read it again and reapply the change"));
}

}  // namespace kb
