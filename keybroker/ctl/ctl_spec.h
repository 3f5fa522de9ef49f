#ifndef KB_KEYBROKER_CTL_CTL_SPEC_H_
#define KB_KEYBROKER_CTL_CTL_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "keybroker/ctl/ctl_args.h"

namespace kb {

// The tables that define keybrokerctl's command line: every flag and command, with how each
// value is parsed and how the command is documented.

// Stores a flag's value into the command, or explains why the value is bad.
using FlagSetter = absl::Status (*)(const std::string& value, CtlCommand& cmd);

struct FlagSpec {
  const char* name;  // with the leading "--"
  bool takes_value;
  FlagSetter set;
};

struct PositionalSpec {
  const char* name;
  std::string CtlCommand::*field;
};

// One row per command: the words that name it, what it accepts and how it is documented.
struct CommandSpec {
  const char* group;
  const char* verb;  // "" for single-word commands
  CtlCommandKind kind;
  std::vector<PositionalSpec> positionals;
  std::vector<const char*> flags;
  std::vector<const char*> required_flags;
  const char* synopsis;
  const char* summary;
};

// Connection flags and --json: accepted before or after the command words.
const std::vector<FlagSpec>& GlobalFlags();
// Flags a command may accept (listed in its CommandSpec::flags).
const std::vector<FlagSpec>& CommandFlags();
// Every command, in the order of the usage text.
const std::vector<CommandSpec>& Commands();

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_CTL_SPEC_H_
