#include "unlocker/cli/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kb {

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& argv,
                                     const std::set<std::string>& valued,
                                     const std::set<std::string>& switches) {
  ParsedArgs out;
  if (argv.empty()) return absl::InvalidArgumentError("no command given");
  out.command = argv[0];
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (switches.count(arg)) {
      out.flags[arg] = "";
    } else if (valued.count(arg)) {
      if (i + 1 >= argv.size()) return absl::InvalidArgumentError(arg + " needs a value");
      out.flags[arg] = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown argument '", arg, "' for '", out.command, "'"));
    }
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
