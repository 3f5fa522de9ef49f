#ifndef KB_KEYBROKER_CTL_COMMANDS_H_
#define KB_KEYBROKER_CTL_COMMANDS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kb/v1/evidence.pb.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/ctl_args.h"

namespace kb {

// What a command reads from local files before it talks to the broker.
struct CtlLocalInputs {
  std::string policy_json;  // policy set; policy test --policy (candidate)
  std::string ak_public;    // ak register: marshaled TPMT_PUBLIC
  // policy test: each --evidence file and the kb.v1.Evidence it holds.
  std::vector<std::pair<std::string, v1::Evidence>> evidence;
};

// A kb.v1.Evidence serialized as binary protobuf or as protobuf JSON. INVALID_ARGUMENT naming
// `path` when it is neither.
absl::StatusOr<v1::Evidence> ParseEvidenceFile(const std::string& path, const std::string& data);

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
