#include "keybroker/ctl/ctl_args.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kConn = {"--addr", "127.0.0.1:9443", "--ca",  "ca.pem",
                                        "--cert", "op.pem",         "--key", "op.key"};

std::vector<std::string> WithConn(std::vector<std::string> rest) {
  std::vector<std::string> args = kConn;
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The message of a parse that must fail with INVALID_ARGUMENT.
std::string ParseError(const std::vector<std::string>& args, const EnvLookup& env = NoEnv()) {
  absl::StatusOr<CtlCommand> cmd = ParseCtlArgs(args, env);
  EXPECT_FALSE(cmd.ok());
  if (cmd.ok()) return "";
  EXPECT_EQ(cmd.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cmd.status().message());
}

TEST(CtlArgsTest, KeyCreateWithFlags) {
  auto cmd = ParseCtlArgs(
      WithConn({"key", "create", "disk-a", "--size", "64", "--description", "root disk"}), NoEnv());
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->kind, CtlCommandKind::kKeyCreate);
  EXPECT_EQ(cmd->key_id, "disk-a");
  EXPECT_EQ(cmd->size_bytes, 64u);
  EXPECT_EQ(cmd->description, "root disk");
  EXPECT_FALSE(cmd->json);
  EXPECT_EQ(cmd->connection.addr, "127.0.0.1:9443");
  EXPECT_EQ(cmd->connection.ca_file, "ca.pem");
  EXPECT_EQ(cmd->connection.cert_file, "op.pem");
  EXPECT_EQ(cmd->connection.key_file, "op.key");
  EXPECT_EQ(cmd->connection.timeout, absl::Seconds(10));
}

TEST(CtlArgsTest, EveryCommandParses) {
  struct Case {
    std::vector<std::string> words;
    CtlCommandKind kind;
  };
  const Case cases[] = {
      {{"key", "list"}, CtlCommandKind::kKeyList},
      {{"key", "show", "k"}, CtlCommandKind::kKeyShow},
      {{"key", "disable", "k"}, CtlCommandKind::kKeyDisable},
      {{"policy", "set", "k", "p.json"}, CtlCommandKind::kPolicySet},
      {{"policy", "get", "k"}, CtlCommandKind::kPolicyGet},
      {{"ak", "register", "--machine", "m1", "--ak-public", "ak.pub"}, CtlCommandKind::kAkRegister},
      {{"ak", "list"}, CtlCommandKind::kAkList},
      {{"audit", "list"}, CtlCommandKind::kAuditList},
      {{"key", "rotate", "k"}, CtlCommandKind::kKeyRotate},
      {{"key", "retire", "k", "1"}, CtlCommandKind::kKeyRetire},
      {{"key", "rotation-status", "k"}, CtlCommandKind::kKeyRotationStatus},
      {{"machine", "deny", "m"}, CtlCommandKind::kMachineDeny},
      {{"machine", "allow", "m"}, CtlCommandKind::kMachineAllow},
      {{"machine", "list"}, CtlCommandKind::kMachineList},
      {{"audit", "verify"}, CtlCommandKind::kAuditVerify},
  };
  for (const Case& c : cases) {
    auto cmd = ParseCtlArgs(WithConn(c.words), NoEnv());
    ASSERT_THAT(cmd, IsOk()) << c.words[0] << " " << c.words[1] << ": " << cmd.status();
    EXPECT_EQ(cmd->kind, c.kind) << c.words[0] << " " << c.words[1];
  }
}

TEST(CtlArgsTest, PositionalsAndFlagValues) {
  auto policy = ParseCtlArgs(WithConn({"policy", "set", "disk-a", "-"}), NoEnv());
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(policy->key_id, "disk-a");
  EXPECT_EQ(policy->policy_file, "-");
  EXPECT_FALSE(policy->expected_policy_version.has_value());
  auto cas = ParseCtlArgs(WithConn({"policy", "set", "disk-a", "p.json", "--expected-version=3"}),
                          NoEnv());
  ASSERT_THAT(cas, IsOk());
  EXPECT_EQ(cas->expected_policy_version, 3u);
  EXPECT_FALSE(
      ParseCtlArgs(WithConn({"policy", "set", "disk-a", "p.json", "--expected-version=-1"}),
                   NoEnv())
          .ok());

  auto ak =
      ParseCtlArgs(WithConn({"ak", "register", "--ak-public=ak.pub", "--machine=m1"}), NoEnv());
  ASSERT_THAT(ak, IsOk());
  EXPECT_EQ(ak->machine, "m1");
  EXPECT_EQ(ak->ak_public_file, "ak.pub");

  auto audit = ParseCtlArgs(WithConn({"audit", "list", "--limit", "5"}), NoEnv());
  ASSERT_THAT(audit, IsOk());
  EXPECT_EQ(audit->limit, 5u);
}

TEST(CtlArgsTest, LifecycleCommandArguments) {
  auto retire = ParseCtlArgs(WithConn({"key", "retire", "disk", "3", "--force"}), NoEnv());
  ASSERT_THAT(retire, IsOk());
  EXPECT_EQ(retire->key_id, "disk");
  EXPECT_EQ(retire->version, 3u);
  EXPECT_TRUE(retire->force);
  EXPECT_THAT(ParseError(WithConn({"key", "retire", "disk", "0"})),
              HasSubstr("VERSION must be a positive integer"));
  EXPECT_THAT(ParseError(WithConn({"key", "retire", "disk", "v2"})), HasSubstr("'v2'"));
  EXPECT_THAT(ParseError(WithConn({"key", "rotate", "disk", "--force"})),
              HasSubstr("unknown flag --force"));
  auto deny = ParseCtlArgs(WithConn({"machine", "deny", "web-1", "--reason", "stolen"}), NoEnv());
  ASSERT_THAT(deny, IsOk());
  EXPECT_EQ(deny->machine, "web-1");
  EXPECT_EQ(deny->reason, "stolen");
}

TEST(CtlArgsTest, AuditListFilters) {
  auto audit = ParseCtlArgs(WithConn({"audit", "list", "--key-id", "disk", "--machine", "web-1",
                                      "--decision", "deny", "--since", "2024-05-01T12:00:00Z"}),
                            NoEnv());
  ASSERT_THAT(audit, IsOk());
  EXPECT_EQ(audit->key_id, "disk");
  EXPECT_EQ(audit->actor, "machine:web-1");
  EXPECT_EQ(audit->decision, "deny");
  ASSERT_TRUE(audit->since.has_value());
  EXPECT_EQ(absl::ToUnixSeconds(*audit->since), 1714564800);
  // --key is still the client key file, wherever it appears.
  EXPECT_EQ(audit->connection.key_file, "op.key");
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--decision", "maybe"})),
              HasSubstr("--decision must be allow or deny"));
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--since", "yesterday"})),
              HasSubstr("RFC 3339"));
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--machine", "m", "--actor", "CN=a"})),
              HasSubstr("exclusive"));
}

TEST(CtlArgsTest, AuditListPaging) {
  auto all = ParseCtlArgs(WithConn({"audit", "list", "--all", "--before-id", "77"}), NoEnv());
  ASSERT_THAT(all, IsOk());
  EXPECT_TRUE(all->all);
  EXPECT_EQ(all->before_id, 77u);
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--all", "--limit", "5"})),
              HasSubstr("--all and --limit are exclusive"));
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--before-id", "0"})),
              HasSubstr("--before-id must be an audit record id"));
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--before-id", "x"})), HasSubstr("'x'"));
}

TEST(CtlArgsTest, ConfigFileFillsWhatFlagsAndEnvironmentLeaveOpen) {
  std::vector<std::string> loaded;
  CtlConfigLoader loader = [&loaded](const std::string& path) -> absl::StatusOr<CtlConnection> {
    loaded.push_back(path);
    if (path == "/missing.json") return absl::NotFoundError("/missing.json: no such file");
    CtlConnection c;
    c.addr = "file:1";
    c.ca_file = "/cfg/ca.pem";
    c.cert_file = "/cfg/op.pem";
    c.key_file = "/cfg/op.key";
    c.server_name = "broker.example";
    return c;
  };
  auto cmd = ParseCtlArgs({"--config", "/etc/kb.json", "--addr", "flag:2", "key", "list"},
                          MapEnv({{"KEYBROKERCTL_CA", "env-ca.pem"}}), loader);
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(loaded, std::vector<std::string>{"/etc/kb.json"});
  EXPECT_EQ(cmd->connection.addr, "flag:2");         // flag beats file
  EXPECT_EQ(cmd->connection.ca_file, "env-ca.pem");  // environment beats file
  EXPECT_EQ(cmd->connection.cert_file, "/cfg/op.pem");
  EXPECT_EQ(cmd->connection.server_name, "broker.example");
  // The default file is read from $HOME when it exists; a missing default is fine.
  loaded.clear();
  cmd = ParseCtlArgs({"key", "list"}, MapEnv({{"HOME", "/home/a"}}), loader);
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(loaded, std::vector<std::string>{"/home/a/.config/keybrokerctl.json"});
  EXPECT_THAT(ParseError({"--config", "/missing.json", "key", "list"}, NoEnv()),
              HasSubstr("missing --addr"));  // no loader: the file is not read
  absl::StatusOr<CtlCommand> missing =
      ParseCtlArgs({"--config", "/missing.json", "key", "list"}, NoEnv(), loader);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("config file: /missing.json"));
}

TEST(CtlArgsTest, GlobalFlagsBeforeOrAfterCommand) {
  auto cmd = ParseCtlArgs({"--json", "key", "show", "k", "--addr=h:1", "--ca", "c", "--cert", "e",
                           "--key", "y", "--timeout", "2.5", "--server-name", "broker.example"},
                          NoEnv());
  ASSERT_THAT(cmd, IsOk());
  EXPECT_TRUE(cmd->json);
  EXPECT_EQ(cmd->connection.addr, "h:1");
  EXPECT_EQ(cmd->connection.server_name, "broker.example");
  EXPECT_EQ(cmd->connection.timeout, absl::Milliseconds(2500));
}

TEST(CtlArgsTest, DoubleDashEndsFlags) {
  auto cmd = ParseCtlArgs(WithConn({"key", "show", "--", "--odd-id"}), NoEnv());
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->key_id, "--odd-id");
}

TEST(CtlArgsTest, ConnectionFromEnvironment) {
  auto env = MapEnv({{"KEYBROKERCTL_ADDR", "env:1"},
                     {"KEYBROKERCTL_CA", "env-ca"},
                     {"KEYBROKERCTL_CERT", "env-cert"},
                     {"KEYBROKERCTL_KEY", "env-key"}});
  auto cmd = ParseCtlArgs({"--addr", "flag:2", "key", "list"}, env);
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->connection.addr, "flag:2");  // a flag beats the environment
  EXPECT_EQ(cmd->connection.ca_file, "env-ca");
  EXPECT_EQ(cmd->connection.cert_file, "env-cert");
  EXPECT_EQ(cmd->connection.key_file, "env-key");
}

TEST(CtlArgsTest, MissingConnectionNamesFlagAndVariable) {
  EXPECT_THAT(ParseError({"key", "list"}), HasSubstr("--addr HOST:PORT (or KEYBROKERCTL_ADDR)"));
  EXPECT_THAT(
      ParseError({"key", "list"}, MapEnv({{"KEYBROKERCTL_ADDR", "a:1"}, {"KEYBROKERCTL_CA", ""}})),
      HasSubstr("--ca FILE"));
  EXPECT_THAT(ParseError({"--addr", "a:1", "--ca", "c", "--cert", "e", "key", "list"}),
              HasSubstr("--key FILE"));
}

TEST(CtlArgsTest, HelpNeedsNoConnection) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"help"}, {"--help"}, {"-h"}, {"key", "create", "--help"}, {"help", "key"}}) {
    auto cmd = ParseCtlArgs(args, NoEnv());
    ASSERT_THAT(cmd, IsOk()) << args[0] << ": " << cmd.status();
    EXPECT_EQ(cmd->kind, CtlCommandKind::kHelp);
  }
}

TEST(CtlArgsTest, UnknownCommandsAndSubcommands) {
  EXPECT_THAT(ParseError({}), HasSubstr("missing command"));
  EXPECT_THAT(ParseError(WithConn({})), HasSubstr("missing command"));
  EXPECT_THAT(ParseError(WithConn({"frobnicate"})), HasSubstr("unknown command 'frobnicate'"));
  EXPECT_THAT(ParseError(WithConn({"key"})),
              HasSubstr("'key' needs a subcommand: create, list, show, disable"));
  EXPECT_THAT(ParseError(WithConn({"key", "delete", "k"})),
              HasSubstr("unknown command 'key delete'"));
}

TEST(CtlArgsTest, UnknownFlagsAndMissingValues) {
  EXPECT_THAT(ParseError({"--bogus", "key", "list"}), HasSubstr("unknown flag --bogus"));
  // Command flags belong to their command only.
  EXPECT_THAT(ParseError(WithConn({"key", "list", "--size", "32"})),
              HasSubstr("unknown flag --size for 'key list'"));
  EXPECT_THAT(ParseError({"--size", "32", "key", "create", "k"}),
              HasSubstr("flag --size must follow the command"));
  EXPECT_THAT(ParseError(WithConn({"key", "create", "k", "--size"})),
              HasSubstr("--size needs a value"));
  EXPECT_THAT(ParseError({"key", "list", "--addr"}), HasSubstr("--addr needs a value"));
  EXPECT_THAT(ParseError(WithConn({"--json=yes", "key", "list"})),
              HasSubstr("--json takes no value"));
}

TEST(CtlArgsTest, MissingAndExtraArguments) {
  EXPECT_THAT(ParseError(WithConn({"key", "show"})), HasSubstr("missing KEY_ID for 'key show'"));
  EXPECT_THAT(ParseError(WithConn({"policy", "set", "k"})),
              HasSubstr("missing FILE for 'policy set'"));
  EXPECT_THAT(ParseError(WithConn({"ak", "register", "--machine", "m"})),
              HasSubstr("missing --ak-public for 'ak register'"));
  EXPECT_THAT(ParseError(WithConn({"key", "list", "extra"})),
              HasSubstr("unexpected argument 'extra'"));
}

TEST(CtlArgsTest, MalformedValues) {
  EXPECT_THAT(ParseError(WithConn({"key", "create", "k", "--size", "48"})),
              HasSubstr("--size must be 32 or 64, got '48'"));
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--limit", "0"})),
              HasSubstr("--limit must be a positive integer"));
  EXPECT_THAT(ParseError(WithConn({"audit", "list", "--limit", "-3"})),
              HasSubstr("--limit must be a positive integer"));
  EXPECT_THAT(ParseError(WithConn({"--timeout", "soon", "key", "list"})),
              HasSubstr("--timeout must be a positive number of seconds"));
  EXPECT_THAT(ParseError(WithConn({"--timeout", "0", "key", "list"})),
              HasSubstr("--timeout must be a positive number of seconds"));
}

TEST(CtlArgsTest, UsageHintNamesTheCommand) {
  EXPECT_THAT(CtlUsageHint({"--json", "key", "create"}),
              HasSubstr("usage: keybrokerctl [flags] key create KEY_ID [--size 32|64]"));
  const std::string group = CtlUsageHint({"ak"});
  EXPECT_THAT(group, HasSubstr("ak register --machine NAME --ak-public FILE"));
  EXPECT_THAT(group, HasSubstr("ak list"));
  EXPECT_THAT(CtlUsageHint({"nope"}), HasSubstr("keybrokerctl help"));
}

TEST(CtlArgsTest, UsageListsEveryCommandAndEnvVariable) {
  const std::string usage = CtlUsage();
  for (const char* s : {"key create KEY_ID",
                        "key list",
                        "key show KEY_ID",
                        "key disable KEY_ID",
                        "policy set KEY_ID FILE",
                        "policy get KEY_ID",
                        "ak register",
                        "ak list",
                        "audit list [--limit N | --all]",
                        "KEYBROKERCTL_ADDR",
                        "KEYBROKERCTL_CA",
                        "KEYBROKERCTL_CERT",
                        "KEYBROKERCTL_KEY",
                        "--server-name",
                        "--timeout",
                        "key rotate KEY_ID",
                        "key retire KEY_ID VERSION [--force]",
                        "key rotation-status KEY_ID",
                        "machine deny NAME",
                        "machine allow NAME",
                        "audit verify",
                        "--config FILE"}) {
    EXPECT_THAT(usage, HasSubstr(s));
  }
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

TEST(CtlArgsTest, PolicyTestTakesRepeatedEvidenceAndACandidatePolicy) {
  auto cmd = ParseCtlArgs(WithConn({"policy", "test", "disk", "--evidence", "a.json", "--evidence",
                                    "b.bin", "--policy", "p.json"}),
                          NoEnv());
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->kind, CtlCommandKind::kPolicyTest);
  EXPECT_EQ(cmd->key_id, "disk");
  EXPECT_EQ(cmd->evidence_files, (std::vector<std::string>{"a.json", "b.bin"}));
  EXPECT_EQ(cmd->policy_file, "p.json");
  EXPECT_THAT(ParseError(WithConn({"policy", "test", "disk"})), HasSubstr("--evidence"));
}

TEST(CtlArgsTest, OfflineRevokeAndRestore) {
  auto revoke = ParseCtlArgs(
      WithConn({"offline", "revoke", "disk", "--machine", "web-1", "--reason", "stolen"}), NoEnv());
  ASSERT_THAT(revoke, IsOk());
  EXPECT_EQ(revoke->kind, CtlCommandKind::kOfflineRevoke);
  EXPECT_EQ(revoke->machine, "web-1");
  EXPECT_EQ(revoke->reason, "stolen");
  auto restore = ParseCtlArgs(WithConn({"offline", "restore", "disk"}), NoEnv());
  ASSERT_THAT(restore, IsOk());
  EXPECT_EQ(restore->kind, CtlCommandKind::kOfflineRestore);
  EXPECT_TRUE(restore->machine.empty());
}

TEST(CtlArgsTest, OfflineList) {
  auto all = ParseCtlArgs(WithConn({"offline", "list"}), NoEnv());
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->kind, CtlCommandKind::kOfflineList);
  EXPECT_TRUE(all->key_id.empty());
  auto one = ParseCtlArgs(WithConn({"--json", "offline", "list", "--key-id", "disk"}), NoEnv());
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->key_id, "disk");
  EXPECT_TRUE(one->json);
  EXPECT_THAT(ParseError(WithConn({"offline", "list", "disk"})), HasSubstr("disk"));
  EXPECT_THAT(ParseError(WithConn({"offline", "list", "--machine", "m"})), HasSubstr("--machine"));
}

}  // namespace
}  // namespace kb
