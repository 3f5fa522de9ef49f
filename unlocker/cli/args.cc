#include "unlocker/cli/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/flags.h"
#include "common/status_macros.h"

namespace kb {

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& argv,
                                     const std::set<std::string>& valued,
                                     const std::set<std::string>& switches) {
  ParsedArgs out;
  if (argv.empty()) return absl::InvalidArgumentError("no command given");
  out.command = argv[0];
  for (size_t i = 1; i < argv.size();) {
    const std::string name(FlagName(argv[i]));
    const FlagKind kind = switches.count(name) ? FlagKind::kSwitch
                          : valued.count(name) ? FlagKind::kValued
                                               : FlagKind::kUnknown;
    if (kind == FlagKind::kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown argument '", argv[i], "' for '", out.command, "'"));
    }
    ASSIGN_OR_RETURN(out.flags[name], TakeFlagValue(argv, &i, kind));
  }
  return out;
}

absl::StatusOr<std::vector<uint32_t>> ParsePcrList(const std::string& list) {
  std::vector<uint32_t> out;
  if (list.empty()) return out;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    uint32_t index = 0;
    if (!absl::SimpleAtoi(part, &index) || index > 23) {
      return absl::InvalidArgumentError(
          absl::StrCat("--pcrs: '", part, "' is not a PCR index (0..23)"));
    }
    out.push_back(index);
  }
  return out;
}

}  // namespace kb
