#ifndef KB_KEYBROKER_CTL_POLICY_EDIT_COMMANDS_H_
#define KB_KEYBROKER_CTL_POLICY_EDIT_COMMANDS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/commands.h"

namespace kb {

// The `policy` reference-value commands: show, add-rule, remove-rule, add-value,
// remove-value, set-pcr, unset-pcr, set-min-tcb, add-from-evidence (docs/keybrokerctl.md).

// True for those commands.
bool IsPolicyEditCommand(CtlCommandKind kind);

// Runs one. An edit reads the key's policy (GetKey, GetPolicy), changes it (policy_edit.h) and
// stores it with SetPolicy carrying expected_version = the version read, so the broker
// validates and audits it and refuses with FAILED_PRECONDITION if another edit came first.
// An edit that changes nothing stores nothing. add-from-evidence takes its values from the
// claims a TestPolicy dry run verified: UNAUTHENTICATED when the evidence does not verify.
// Mistakes in the arguments (unknown claim, bad hex or size, --rule out of range, a value not
// listed) are local errors (IsLocalCtlError, exit status 2); the broker's errors keep their code.
absl::StatusOr<CtlOutput> RunPolicyEdit(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        AdminClient& client);

// `status` marked as a local (usage) error, reported without a code and exit status 2.
absl::Status LocalCtlError(absl::Status status);
bool IsLocalCtlError(const absl::Status& status);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_POLICY_EDIT_COMMANDS_H_
