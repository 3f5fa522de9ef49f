#ifndef KB_KEYBROKER_CTL_COMMANDS_H_
#define KB_KEYBROKER_CTL_COMMANDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/ctl_args.h"

namespace kb {

// What a command reads from local files before it talks to the broker.
struct CtlLocalInputs {
  std::string policy_json;  // policy set
  std::string ak_public;    // ak register: marshaled TPMT_PUBLIC
};

// Reads the files `cmd` names ("-" is stdin for the policy). NOT_FOUND / PERMISSION_DENIED
// with the path when unreadable, INVALID_ARGUMENT when empty. Errors are local (exit 2).
absl::StatusOr<CtlLocalInputs> LoadCtlLocalInputs(const CtlCommand& cmd);

// What a command prints: `text` on stdout; a non-OK `failure` (e.g. `audit verify` finding a
// broken chain) is then reported on stderr with exit status 1.
struct CtlOutput {
  std::string text;
  absl::Status failure;
};

// Runs `cmd` (not `help`) against the broker and returns the text for stdout: human-readable,
// or the response message as JSON with --json. Errors carry the broker's code and message.
absl::StatusOr<CtlOutput> RunCtlCommand(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        AdminClient& client);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_COMMANDS_H_
