#ifndef KB_UNLOCKER_CLI_ARGS_H_
#define KB_UNLOCKER_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kb {

// A parsed "kbunlock <command> --flag value ..." line.
struct ParsedArgs {
  std::string command;
  std::map<std::string, std::string> flags;  // "--name" -> value ("" for switches)

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  std::string Get(const std::string& flag, const std::string& fallback = "") const {
    auto it = flags.find(flag);
    return it == flags.end() ? fallback : it->second;
  }
};

// Parses argv. `valued` flags take a value (`--flag value` or `--flag=value`), `switches` do
// not (common/flags.h). INVALID_ARGUMENT for an unknown
// flag, a missing value or a stray argument.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& argv,
                                     const std::set<std::string>& valued,
                                     const std::set<std::string>& switches);

// "0,1,7" -> {0,1,7}; INVALID_ARGUMENT for anything but indices 0..23.
absl::StatusOr<std::vector<uint32_t>> ParsePcrList(const std::string& list);

}  // namespace kb

#endif  // KB_UNLOCKER_CLI_ARGS_H_
