#ifndef KB_UNLOCKER_EXIT_EXIT_CODES_H_
#define KB_UNLOCKER_EXIT_EXIT_CODES_H_

#include "absl/status/status.h"

namespace kb {

// kbunlock's documented exit codes (README, docs/kbunlock.md). Each failure class is tagged on
// the Status at the phase boundary where it is known.
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,           // unexpected failure
  kUsage = 2,              // bad arguments, unreadable config/CA, CA does not match the token
  kBrokerUnreachable = 3,  // no broker endpoint answered (network, TLS, timeout)
  kDenied = 4,             // the broker refused: attestation failed, policy denied, unknown key
  kTpmUnavailable = 5,     // no TPM, or the TPM failed
  kNoToken = 6,            // the volume has no keybroker token
  kVolumeError = 7,        // missing device, not LUKS2, corrupt header, activation failed
  kWrongKey = 8,           // the released key does not open the keyslot
};

// Returns `status` tagged with `code` (OK stays OK).
absl::Status WithExitCode(absl::Status status, ExitCode code);
// A short name for the failure class ("denied by broker", ...), printed before the reason.
const char* ExitCodeName(ExitCode code);

// The tag, or kInternal for an untagged error, kOk for OK.
ExitCode ExitCodeOf(const absl::Status& status);

}  // namespace kb

#endif  // KB_UNLOCKER_EXIT_EXIT_CODES_H_
