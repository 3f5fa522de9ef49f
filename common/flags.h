#ifndef KB_COMMON_FLAGS_H_
#define KB_COMMON_FLAGS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// The one way the command lines of keybrokerctl, kbunlock and `keybrokerctl verify-evidence`
// spell flags: "--name value", "--name=value" and "--switch". Each tool keeps its own table of
// flags (what they mean, which command takes which) and reads each flag through these.

enum class FlagKind { kUnknown, kSwitch, kValued };

// The flag name of `arg`: "--name" of "--name=value", else `arg` itself.
absl::string_view FlagName(absl::string_view arg);

// Reads the value of the flag at args[*pos] and moves *pos past it (and past its value when
// that is the next argument). A switch's value is "". INVALID_ARGUMENT "NAME needs a value"
// for a valued flag at the end of the line, "NAME takes no value" for "--switch=value".
// `kind` must not be kUnknown: the caller reports unknown flags in its own words.
absl::StatusOr<std::string> TakeFlagValue(const std::vector<std::string>& args, size_t* pos,
                                          FlagKind kind);

}  // namespace kb

#endif  // KB_COMMON_FLAGS_H_
