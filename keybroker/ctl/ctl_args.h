#ifndef KB_KEYBROKER_CTL_CTL_ARGS_H_
#define KB_KEYBROKER_CTL_CTL_ARGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keybroker/ctl/policy_edit_args.h"

namespace kb {

// The commands keybrokerctl knows; one per admin RPC plus `help`.
enum class CtlCommandKind {
  kHelp,
  kKeyCreate,
  kKeyList,
  kKeyShow,
  kKeyDisable,
  kPolicySet,
  kPolicyGet,
  kAkRegister,
  kAkList,
  kAkRemove,
  kAuditList,
  kKeyRotate,
  kKeyRetire,
  kKeyRotationStatus,
  kMachineDeny,
  kMachineAllow,
  kMachineList,
  kMachineForget,
  kAuditVerify,
  kPolicyTest,
  kOfflineRevoke,
  kOfflineRestore,
  kOfflineList,
  // Policy reference values (keybroker/ctl/policy_edit_commands.h).
  kPolicyShow,
  kPolicyAddRule,
  kPolicyRemoveRule,
  kPolicyAddValue,
  kPolicyRemoveValue,
  kPolicySetPcr,
  kPolicyUnsetPcr,
  kPolicySetMinTcb,
  kPolicyAddFromEvidence,
  // The collateral cache (keybroker/ctl/collateral_commands.h).
  kCollateralImport,
  kCollateralList,
  kCollateralDelete,
  // The key-encryption keys (keybroker/ctl/kek_commands.h).
  kKekStatus,
  kKekRotate,
};

// Where and how to reach the broker's admin listener (mutual TLS).
struct CtlConnection {
  std::string addr;         // HOST:PORT
  std::string ca_file;      // PEM CA that signed the broker's server certificate
  std::string cert_file;    // operator client certificate chain, PEM
  std::string key_file;     // operator client private key, PEM
  std::string server_name;  // optional TLS target name override
  absl::Duration timeout = absl::Seconds(10);
};

// A fully parsed and validated command line. Fields a command does not use stay empty.
struct CtlCommand {
  CtlCommandKind kind = CtlCommandKind::kHelp;
  CtlConnection connection;
  bool json = false;
  std::string key_id;
  uint32_t size_bytes = 0;  // 0: broker default (32)
  std::string description;
  std::string policy_file;  // "-" is stdin
  std::string machine;
  std::string ak_public_file;
  std::string ak_name;      // ak remove: the AK name in hex, as ak list shows it
  uint32_t limit = 0;       // 0: broker default (100)
  std::string config_file;  // --config; empty: ~/.config/keybrokerctl.json if it exists
  std::string version_arg;  // key retire: VERSION as typed
  uint32_t version = 0;     // key retire: VERSION, at least 1
  bool force = false;
  std::string reason;               // machine deny --reason
  std::string actor;                // audit list --actor, or "machine:NAME" from --machine
  std::string decision;             // audit list --decision: "allow", "deny" or empty
  std::optional<absl::Time> since;  // audit list --since
  bool all = false;                 // audit list --all: every matching record
  uint64_t before_id = 0;           // audit list --before-id: records older than this id
  std::optional<uint64_t> expected_policy_version;  // policy set --expected-version
  std::vector<std::string> evidence_files;          // policy test --evidence (repeatable)
  PolicyEditArgs policy_edit;                       // policy add-value, set-pcr, ...
  std::string collateral_file;                      // collateral import: the first FILE
  std::vector<std::string> more_args;               // positionals after a trailing "NAME..." one
  std::string collateral_id;                        // collateral delete ID
};

// Reads the keybrokerctl config file at `path` (JSON: addr, ca, cert, key, server_name;
// relative paths are relative to the file). NOT_FOUND when it does not exist, other codes
// with the path and the problem.
using CtlConfigLoader = std::function<absl::StatusOr<CtlConnection>(const std::string& path)>;

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Turns argv[1..] into a command. Connection flags may appear before or after the command
// words and fall back to KEYBROKERCTL_{ADDR,CA,CERT,KEY}, then to the config file (--config
// FILE, else $HOME/.config/keybrokerctl.json when it exists; read with `load_config`, skipped
// when it is null). Every command but `help` requires an address, CA, certificate and key.
// Returns INVALID_ARGUMENT with a one-line reason for unknown commands or flags, missing or
// malformed values, missing arguments and an unreadable config file.
absl::StatusOr<CtlCommand> ParseCtlArgs(const std::vector<std::string>& args, const EnvLookup& env,
                                        const CtlConfigLoader& load_config = nullptr);

// The full usage text printed by `keybrokerctl help`.
std::string CtlUsage();

// A short hint for a usage error: the synopsis of the command named in `args` if one can be
// identified, otherwise a pointer to `keybrokerctl help`.
std::string CtlUsageHint(const std::vector<std::string>& args);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_CTL_ARGS_H_
