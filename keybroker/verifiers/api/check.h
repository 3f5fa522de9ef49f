#ifndef KB_KEYBROKER_VERIFIERS_API_CHECK_H_
#define KB_KEYBROKER_VERIFIERS_API_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kb {

// The status for a failed named check: "evidence check '<check>' failed: <detail>". Every
// verifier rejects through this, so an operator reads the failing check from any refusal.
// Proto-free: the bytes-level verifiers use it without the wire types.
// The check's name also rides on the status as a payload, for FailedCheck.
absl::Status CheckFailed(absl::string_view check, absl::StatusCode code, absl::string_view detail);

// The ak_trusted refusal of a TPM quote whose attestation key (TPM name `ak_name`) is not
// registered: returned by TpmQuoteVerifier when it has a registry, and by its caller, which
// finds the registration itself, when it has none.
absl::Status AkNotRegisteredError(absl::string_view ak_name);

// The name of the check a CheckFailed status names; empty for any other status.
std::string FailedCheck(const absl::Status& status);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_API_CHECK_H_
