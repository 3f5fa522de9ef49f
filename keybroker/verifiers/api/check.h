#ifndef KB_KEYBROKER_VERIFIERS_API_CHECK_H_
#define KB_KEYBROKER_VERIFIERS_API_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kb {

// The status for a failed named check: "evidence check '<check>' failed: <detail>". Every
// verifier rejects through this, so an operator reads the failing check from any refusal.
// Proto-free: the bytes-level verifiers use it without the wire types.
absl::Status CheckFailed(absl::string_view check, absl::StatusCode code, absl::string_view detail);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_API_CHECK_H_
