#ifndef KB_UNLOCKER_COMMANDS_H_
#define KB_UNLOCKER_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kb::kbunlock {

// kbunlock's commands (enroll, unlock, rekey, status, attestation-key) over the real
// components of wiring.h.

// The usage text of `kbunlock help`.
const char* UsageText();

// Parses `argv` (argv[0] is the command name), arms --deadline and runs the command from the
// command table. A usage error (exit code kUsage) for an unknown command or bad flags; the
// command's own error, carrying its exit code (exit_codes.h), otherwise.
absl::Status Dispatch(const std::vector<std::string>& argv);

}  // namespace kb::kbunlock

#endif  // KB_UNLOCKER_COMMANDS_H_
