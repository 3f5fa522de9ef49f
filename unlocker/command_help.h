#ifndef KB_UNLOCKER_COMMAND_HELP_H_
#define KB_UNLOCKER_COMMAND_HELP_H_

#include "absl/strings/string_view.h"

namespace kb::kbunlock {

// `kbunlock COMMAND --help` (and `kbunlock help COMMAND`): the command's synopsis and the
// options it takes. Null for an unknown command.
const char* CommandHelp(absl::string_view command);

}  // namespace kb::kbunlock

#endif  // KB_UNLOCKER_COMMAND_HELP_H_
