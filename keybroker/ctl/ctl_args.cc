#include "keybroker/ctl/ctl_args.h"

#include <cmath>
#include <cstring>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/flags.h"
#include "common/status_macros.h"
#include "keybroker/ctl/ctl_spec.h"

namespace kb {
namespace {

const FlagSpec* FindFlag(const std::vector<FlagSpec>& table, absl::string_view name) {
  for (const FlagSpec& f : table) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

bool IsFlag(absl::string_view arg) {
  return arg == "-h" || (arg.size() > 2 && arg.substr(0, 2) == "--");
}

bool IsHelpFlag(absl::string_view arg) { return arg == "-h" || arg == "--help"; }

std::string GroupVerbs(absl::string_view group) {
  std::vector<std::string> verbs;
  for (const CommandSpec& c : Commands()) {
    if (group == c.group) verbs.push_back(c.verb);
  }
  return absl::StrJoin(verbs, ", ");
}

// Parses one command line; holds the cursor and what has been seen so far.
class Parser {
 public:
  explicit Parser(const std::vector<std::string>& args) : args_(args) {}

  absl::StatusOr<CtlCommand> Parse();
  // The spec named by the command words, if parsing got that far.
  const CommandSpec* spec() const { return spec_; }
  // The group word, if one was recognised.
  const std::string& group() const { return group_; }

 private:
  absl::Status ParseLeadingFlags();
  absl::Status ParseCommandWords();
  absl::Status ParseRest();
  absl::Status ParseFlag(bool allow_command_flags);
  absl::Status UnknownFlag(const std::string& name) const;
  absl::Status CheckComplete() const;

  const std::vector<std::string>& args_;
  size_t pos_ = 0;
  CtlCommand cmd_;
  const CommandSpec* spec_ = nullptr;
  std::string group_;
  size_t positionals_ = 0;
  std::set<std::string> seen_flags_;
  bool help_ = false;
};

absl::StatusOr<CtlCommand> Parser::Parse() {
  RETURN_IF_ERROR(ParseLeadingFlags());
  if (help_) return CtlCommand{};
  RETURN_IF_ERROR(ParseCommandWords());
  if (spec_->kind == CtlCommandKind::kHelp) return CtlCommand{};  // `help ANYTHING`
  RETURN_IF_ERROR(ParseRest());
  if (help_) return CtlCommand{};
  RETURN_IF_ERROR(CheckComplete());
  cmd_.kind = spec_->kind;
  return cmd_;
}

absl::Status Parser::ParseLeadingFlags() {
  while (pos_ < args_.size() && IsFlag(args_[pos_]) && !help_) {
    RETURN_IF_ERROR(ParseFlag(/*allow_command_flags=*/false));
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseCommandWords() {
  if (pos_ >= args_.size()) return absl::InvalidArgumentError("missing command");
  const std::string& word = args_[pos_++];
  bool group_known = false;
  for (const CommandSpec& c : Commands()) group_known = group_known || word == c.group;
  if (!group_known) {
    return absl::InvalidArgumentError(absl::StrCat("unknown command '", word, "'"));
  }
  group_ = word;
  const std::string verb =
      pos_ < args_.size() && !IsFlag(args_[pos_]) ? args_[pos_] : std::string();
  for (const CommandSpec& c : Commands()) {
    if (word != c.group) continue;
    if (*c.verb == '\0' || verb == c.verb) {
      if (*c.verb != '\0') ++pos_;
      spec_ = &c;
      return absl::OkStatus();
    }
  }
  if (verb.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", word, "' needs a subcommand: ", GroupVerbs(word)));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command '", word, " ", verb, "' (", word,
                                                 " commands: ", GroupVerbs(word), ")"));
}

absl::Status Parser::ParseRest() {
  bool flags_done = false;
  while (pos_ < args_.size()) {
    const std::string& arg = args_[pos_];
    if (!flags_done && arg == "--") {
      flags_done = true;
      ++pos_;
      continue;
    }
    if (!flags_done && IsFlag(arg)) {
      RETURN_IF_ERROR(ParseFlag(/*allow_command_flags=*/true));
      continue;
    }
    if (positionals_ >= spec_->positionals.size() && !spec_->positionals.empty() &&
        absl::EndsWith(spec_->positionals.back().name, "...")) {
      cmd_.more_args.push_back(arg);  // a trailing "NAME..." takes any number
      ++pos_;
      continue;
    }
    if (positionals_ >= spec_->positionals.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' for '", spec_->synopsis, "'"));
    }
    cmd_.*(spec_->positionals[positionals_++].field) = arg;
    ++pos_;
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseFlag(bool allow_command_flags) {
  if (IsHelpFlag(args_[pos_])) {
    ++pos_;
    help_ = true;
    return absl::OkStatus();
  }
  const std::string name(FlagName(args_[pos_]));
  const FlagSpec* flag = FindFlag(GlobalFlags(), name);
  if (flag == nullptr && allow_command_flags) {
    for (const char* accepted : spec_->flags) {
      if (name == accepted) flag = FindFlag(CommandFlags(), name);
    }
  }
  if (flag == nullptr) return UnknownFlag(name);
  seen_flags_.insert(name);
  ASSIGN_OR_RETURN(
      std::string value,
      TakeFlagValue(args_, &pos_, flag->takes_value ? FlagKind::kValued : FlagKind::kSwitch));
  return flag->set(value, cmd_);
}

absl::Status Parser::UnknownFlag(const std::string& name) const {
  if (spec_ != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown flag ", name, " for '", spec_->group, " ", spec_->verb, "'"));
  }
  if (FindFlag(CommandFlags(), name) != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", name, " must follow the command"));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
}

absl::Status Parser::CheckComplete() const {
  if (positionals_ < spec_->positionals.size()) {
    return absl::InvalidArgumentError(absl::StrCat("missing ",
                                                   spec_->positionals[positionals_].name, " for '",
                                                   spec_->group, " ", spec_->verb, "'"));
  }
  for (const char* required : spec_->required_flags) {
    if (!seen_flags_.contains(required)) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing ", required, " for '", spec_->group, " ", spec_->verb, "'"));
    }
  }
  return absl::OkStatus();
}

// The config file to read: --config, else the default one if it exists (empty: none).
absl::StatusOr<std::optional<CtlConnection>> ReadConfigFile(const CtlCommand& cmd,
                                                            const EnvLookup& env,
                                                            const CtlConfigLoader& load) {
  if (!load) return std::optional<CtlConnection>();
  std::string path = cmd.config_file;
  const bool explicit_path = !path.empty();
  if (!explicit_path) {
    std::optional<std::string> home = env ? env("HOME") : std::nullopt;
    if (!home.has_value() || home->empty()) return std::optional<CtlConnection>();
    path = absl::StrCat(*home, "/.config/keybrokerctl.json");
  }
  absl::StatusOr<CtlConnection> conn = load(path);
  if (absl::IsNotFound(conn.status()) && !explicit_path) return std::optional<CtlConnection>();
  if (!conn.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config file: ", conn.status().message()));
  }
  return std::optional<CtlConnection>(*std::move(conn));
}

// Fills connection settings not given as flags from the environment, then from the config
// file, then requires them.
absl::Status ResolveConnection(const EnvLookup& env, const std::optional<CtlConnection>& file,
                               CtlConnection& conn) {
  struct Setting {
    std::string CtlConnection::*field;
    const char* flag;
    const char* env;
  };
  static constexpr Setting kSettings[] = {
      {&CtlConnection::addr, "--addr HOST:PORT", "KEYBROKERCTL_ADDR"},
      {&CtlConnection::ca_file, "--ca FILE", "KEYBROKERCTL_CA"},
      {&CtlConnection::cert_file, "--cert FILE", "KEYBROKERCTL_CERT"},
      {&CtlConnection::key_file, "--key FILE", "KEYBROKERCTL_KEY"},
  };
  for (const Setting& s : kSettings) {
    std::string& value = conn.*(s.field);
    if (value.empty() && env) value = env(s.env).value_or("");
    if (value.empty() && file.has_value()) value = (*file).*(s.field);
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("missing ", s.flag, " (or ", s.env, ")"));
    }
  }
  if (conn.server_name.empty() && file.has_value()) conn.server_name = file->server_name;
  return absl::OkStatus();
}

// Checks that need more than one flag, and values kept as typed.
absl::Status FinishCommand(CtlCommand& cmd) {
  if (cmd.kind == CtlCommandKind::kKeyRetire) {
    if (!absl::SimpleAtoi(cmd.version_arg, &cmd.version) || cmd.version == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("VERSION must be a positive integer, got '", cmd.version_arg, "'"));
    }
  }
  if (cmd.kind == CtlCommandKind::kAuditList && !cmd.machine.empty()) {
    if (!cmd.actor.empty()) {
      return absl::InvalidArgumentError("--machine and --actor are exclusive");
    }
    cmd.actor = absl::StrCat("machine:", cmd.machine);
  }
  if (cmd.kind == CtlCommandKind::kAuditList && cmd.all && cmd.limit != 0) {
    return absl::InvalidArgumentError("--all and --limit are exclusive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CtlCommand> ParseCtlArgs(const std::vector<std::string>& args, const EnvLookup& env,
                                        const CtlConfigLoader& load_config) {
  Parser parser(args);
  ASSIGN_OR_RETURN(CtlCommand cmd, parser.Parse());
  if (cmd.kind == CtlCommandKind::kHelp) return cmd;
  RETURN_IF_ERROR(FinishCommand(cmd));
  ASSIGN_OR_RETURN(std::optional<CtlConnection> file, ReadConfigFile(cmd, env, load_config));
  RETURN_IF_ERROR(ResolveConnection(env, file, cmd.connection));
  return cmd;
}

std::string CtlUsage() {
  std::string out =
      "usage: keybrokerctl [connection flags] [--json] <command> ...\n"
      "       keybrokerctl --version\n"
      "\nAdministers a keybroker over its admin listener (mutual TLS).\n\ncommands:\n";
  for (const CommandSpec& c : Commands()) {
    absl::StrAppend(&out, "  ", c.synopsis, "\n      ", c.summary, "\n");
  }
  absl::StrAppend(
      &out,
      "  verify-evidence --type KIND [--report FILE] [--vcek FILE] [--cert-chain FILE]\n"
      "      [--collateral DIR] [--td-quote FILE] [--tpm-quote FILE] [--ak FILE]\n"
      "      [--pcrs FILE] [--nonce HEX] [--report-data HEX] [--at RFC3339]\n"
      "      Offline, no broker: verifies evidence with the broker's verifiers and\n"
      "      prints the claims (keybrokerctl verify-evidence --help).\n");
  absl::StrAppend(&out,
                  "\nconnection flags (before or after the command):\n"
                  "  --config FILE       JSON with addr, ca, cert, key, server_name\n"
                  "                      (default ~/.config/keybrokerctl.json if present)\n"
                  "  --addr HOST:PORT    admin listener                  (env KEYBROKERCTL_ADDR)\n"
                  "  --ca FILE           PEM CA of the broker's cert     (env KEYBROKERCTL_CA)\n"
                  "  --cert FILE         operator client cert, PEM       (env KEYBROKERCTL_CERT)\n"
                  "  --key FILE          operator client key, PEM        (env KEYBROKERCTL_KEY)\n"
                  "  --timeout SECONDS   deadline of each call (default 10)\n"
                  "  --server-name NAME  name to expect in the broker's certificate, when it does\n"
                  "                      not list the address\n"
                  "flags override the environment, which overrides the config file.\n"
                  "output:\n"
                  "  --json              print the response message as JSON\n"
                  "\nexit status: 0 success; 1 the broker refused or could not be reached;\n"
                  "2 usage error or unreadable local file.\n");
  return out;
}

std::string CtlUsageHint(const std::vector<std::string>& args) {
  Parser parser(args);
  (void)parser.Parse();
  constexpr char kMore[] = "run 'keybrokerctl help' for the full usage";
  if (parser.spec() != nullptr) {
    return absl::StrCat("usage: keybrokerctl [flags] ", parser.spec()->synopsis, "\n", kMore);
  }
  if (parser.group().empty()) return kMore;
  std::string out;
  for (const CommandSpec& c : Commands()) {
    if (parser.group() == c.group) {
      absl::StrAppend(&out, "usage: keybrokerctl [flags] ", c.synopsis, "\n");
    }
  }
  return absl::StrCat(out, kMore);
}

}  // namespace kb
