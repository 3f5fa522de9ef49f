#ifndef KB_KEYBROKER_CTL_KEK_COMMANDS_H_
#define KB_KEYBROKER_CTL_KEK_COMMANDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/commands.h"

namespace kb {

// Whether `kind` is a `kek ...` command.
bool IsKekCommand(CtlCommandKind kind);

// `kek status` (ListKeks) and `kek rotate [--batch N]`: RotateKek steps until no key version
// is left under a previous KEK, one progress line per step, then the KEKs and which of them
// the broker no longer needs. A step that makes no progress while versions remain is an error.
absl::StatusOr<CtlOutput> RunKekCommand(const CtlCommand& cmd, AdminClient& client);

// The KEKs as a table: ID, CONFIGURED, KEY-VERSIONS, DESCRIPTION, FINGERPRINT.
std::string FormatKekTable(const google::protobuf::RepeatedPtrField<v1::KekInfo>& keks);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_KEK_COMMANDS_H_
