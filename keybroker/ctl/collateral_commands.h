#ifndef KB_KEYBROKER_CTL_COLLATERAL_COMMANDS_H_
#define KB_KEYBROKER_CTL_COLLATERAL_COMMANDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/commands.h"

namespace kb {

// Whether `kind` is a `collateral ...` command.
bool IsCollateralCommand(CtlCommandKind kind);

// `collateral import FILE...` (one ImportCollateral call per file; a file that cannot be read
// or is refused is reported and the rest are still imported, then `failure` is
// FAILED_PRECONDITION naming the refused files), `collateral list`, `collateral delete ID`.
absl::StatusOr<CtlOutput> RunCollateralCommand(const CtlCommand& cmd, AdminClient& client);

// One line per imported entry: kind, id, identity, validity window, and what it replaced.
std::string FormatImportedCollateral(absl::string_view file,
                                     const v1::ImportCollateralResponse& response);
// The cache as a table: ID, KIND, IDENTITY, NOT-BEFORE, NOT-AFTER, NAME.
std::string FormatCollateralTable(const v1::ListCollateralResponse& response);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_COLLATERAL_COMMANDS_H_
