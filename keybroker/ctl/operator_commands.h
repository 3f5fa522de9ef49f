#ifndef KB_KEYBROKER_CTL_OPERATOR_COMMANDS_H_
#define KB_KEYBROKER_CTL_OPERATOR_COMMANDS_H_

#include "absl/status/statusor.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/commands.h"

namespace kb {

// `policy test`: one TestPolicy call per evidence file. The text reports each verdict; a
// deny (or a failed call) makes `failure` PERMISSION_DENIED naming the files (exit 1).
absl::StatusOr<CtlOutput> RunPolicyTest(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        AdminClient& client);

// `offline revoke` / `offline restore` / `offline list`.
absl::StatusOr<std::string> RunOfflineRevoke(const CtlCommand& cmd, AdminClient& client);
absl::StatusOr<std::string> RunOfflineRestore(const CtlCommand& cmd, AdminClient& client);
absl::StatusOr<std::string> RunOfflineList(const CtlCommand& cmd, AdminClient& client);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_OPERATOR_COMMANDS_H_
