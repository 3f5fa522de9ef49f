#include "common/flags.h"

#include "absl/strings/str_cat.h"

namespace kb {

absl::string_view FlagName(absl::string_view arg) { return arg.substr(0, arg.find('=')); }

absl::StatusOr<std::string> TakeFlagValue(const std::vector<std::string>& args, size_t* pos,
                                          FlagKind kind) {
  const std::string& arg = args[(*pos)++];
  const size_t eq = arg.find('=');
  const absl::string_view name = FlagName(arg);
  if (kind == FlagKind::kSwitch) {
    if (eq != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
    }
    return std::string();
  }
  if (eq != std::string::npos) return arg.substr(eq + 1);
  if (*pos >= args.size()) return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
  return args[(*pos)++];
}

}  // namespace kb
