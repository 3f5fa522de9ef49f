#include "keybroker/ctl/ctl_spec.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "keybroker/ctl/policy_edit_flags.h"

namespace kb {
namespace {

absl::Status ParseTimeout(const std::string& v, CtlCommand& c) {
  double seconds = 0;
  if (!absl::SimpleAtod(v, &seconds) || !std::isfinite(seconds) || seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout must be a positive number of seconds, got '", v, "'"));
  }
  c.connection.timeout = absl::Seconds(seconds);
  return absl::OkStatus();
}

absl::Status ParseSize(const std::string& v, CtlCommand& c) {
  if (!absl::SimpleAtoi(v, &c.size_bytes) || (c.size_bytes != 32 && c.size_bytes != 64)) {
    return absl::InvalidArgumentError(absl::StrCat("--size must be 32 or 64, got '", v, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseLimit(const std::string& v, CtlCommand& c) {
  if (!absl::SimpleAtoi(v, &c.limit) || c.limit == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--limit must be a positive integer, got '", v, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseBeforeId(const std::string& v, CtlCommand& c) {
  if (!absl::SimpleAtoi(v, &c.before_id) || c.before_id == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--before-id must be an audit record id (a positive integer), got '", v, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseBatch(const std::string& v, CtlCommand& c) {
  if (!absl::SimpleAtoi(v, &c.limit) || c.limit == 0 || c.limit > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch must be an integer from 1 to 10000, got '", v, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseExpectedVersion(const std::string& v, CtlCommand& c) {
  uint64_t version = 0;
  if (!absl::SimpleAtoi(v, &version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--expected-version must be a policy version (0: the key has no policy yet), got '", v,
        "'"));
  }
  c.expected_policy_version = version;
  return absl::OkStatus();
}

absl::Status ParseDecision(const std::string& v, CtlCommand& c) {
  if (v != "allow" && v != "deny") {
    return absl::InvalidArgumentError(
        absl::StrCat("--decision must be allow or deny, got '", v, "'"));
  }
  c.decision = v;
  return absl::OkStatus();
}

absl::Status ParseSince(const std::string& v, CtlCommand& c) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, v, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--since must be an RFC 3339 time such as 2024-05-01T12:00:00Z, got '", v, "'"));
  }
  c.since = t;
  return absl::OkStatus();
}

template <std::string CtlConnection::*field>
absl::Status SetConnection(const std::string& v, CtlCommand& c) {
  c.connection.*field = v;
  return absl::OkStatus();
}

template <std::string CtlCommand::*field>
absl::Status SetString(const std::string& v, CtlCommand& c) {
  c.*field = v;
  return absl::OkStatus();
}

absl::Status AddEvidence(const std::string& v, CtlCommand& c) {
  c.evidence_files.push_back(v);
  return absl::OkStatus();
}

template <bool CtlCommand::*field>
absl::Status SetTrue(const std::string&, CtlCommand& c) {
  c.*field = true;
  return absl::OkStatus();
}

}  // namespace

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"--config", true, &SetString<&CtlCommand::config_file>},
      {"--addr", true, &SetConnection<&CtlConnection::addr>},
      {"--ca", true, &SetConnection<&CtlConnection::ca_file>},
      {"--cert", true, &SetConnection<&CtlConnection::cert_file>},
      {"--key", true, &SetConnection<&CtlConnection::key_file>},
      {"--server-name", true, &SetConnection<&CtlConnection::server_name>},
      {"--timeout", true, &ParseTimeout},
      {"--json", false, &SetTrue<&CtlCommand::json>},
  };
  return *flags;
}

const std::vector<FlagSpec>& CommandFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"--size", true, &ParseSize},
      {"--description", true, &SetString<&CtlCommand::description>},
      {"--machine", true, &SetString<&CtlCommand::machine>},
      {"--ak-public", true, &SetString<&CtlCommand::ak_public_file>},
      {"--limit", true, &ParseLimit},
      {"--batch", true, &ParseBatch},
      {"--expected-version", true, &ParseExpectedVersion},
      {"--key-id", true, &SetString<&CtlCommand::key_id>},
      {"--actor", true, &SetString<&CtlCommand::actor>},
      {"--decision", true, &ParseDecision},
      {"--since", true, &ParseSince},
      {"--all", false, &SetTrue<&CtlCommand::all>},
      {"--before-id", true, &ParseBeforeId},
      {"--force", false, &SetTrue<&CtlCommand::force>},
      {"--reason", true, &SetString<&CtlCommand::reason>},
      {"--evidence", true, &AddEvidence},
      {"--policy", true, &SetString<&CtlCommand::policy_file>},
      // policy reference values (keybroker/ctl/policy_edit_flags.h)
      {"--rule", true, &SetPolicyEditRule},
      {"--claim", true, &SetPolicyEditClaim},
      {"--value", true, &AddPolicyEditValue},
      {"--bank", true, &SetPolicyEditBank},
      {"--index", true, &SetPolicyEditIndex},
      {"--tcb", true, &SetPolicyEditTcb},
      {"--claims", true, &SetPolicyEditClaims},
      {"--name", true, &SetPolicyEditName},
      {"--evidence-type", true, &AddPolicyEditEvidenceType},
      {"--new-rule", false, &SetPolicyEditNewRule},
  };
  return *flags;
}

const std::vector<CommandSpec>& Commands() {
  using K = CtlCommandKind;
  const PositionalSpec key_id{"KEY_ID", &CtlCommand::key_id};
  const PositionalSpec machine{"NAME", &CtlCommand::machine};
  const PositionalSpec ak_name{"AK_NAME", &CtlCommand::ak_name};
  // clang-format off
  static const auto* commands = new std::vector<CommandSpec>{
      {"key", "create", K::kKeyCreate, {key_id}, {"--size", "--description"}, {},
       "key create KEY_ID [--size 32|64] [--description TEXT]",
       "Creates a key with fresh random bytes from the broker (default 32 bytes)."},
      {"key", "list", K::kKeyList, {}, {}, {}, "key list",
       "Lists the keys: KEY_ID VERSION SIZE DISABLED POLICY_VERSION CREATED."},
      {"key", "show", K::kKeyShow, {key_id}, {}, {}, "key show KEY_ID",
       "Shows one key's metadata (never its bytes), with its versions."},
      {"key", "disable", K::kKeyDisable, {key_id}, {}, {}, "key disable KEY_ID",
       "Disables a key: it is never released again."},
      {"key", "rotate", K::kKeyRotate, {key_id}, {}, {}, "key rotate KEY_ID",
       "Adds a new version with fresh random bytes; releases then wrap it."},
      {"key", "retire", K::kKeyRetire, {key_id, {"VERSION", &CtlCommand::version_arg}},
       {"--force"}, {}, "key retire KEY_ID VERSION [--force]",
       "Retires a version: it is never released again. --force is needed for the\n"
       "      active version or one that machines still use (see rotation-status)."},
      {"key", "rotation-status", K::kKeyRotationStatus, {key_id}, {}, {},
       "key rotation-status KEY_ID",
       "Lists which version each machine uses: the version its guest confirmed it is\n"
       "      enrolled with (source \"confirmed\"), else the one last released (\"release\")."},
      {"policy", "set", K::kPolicySet, {key_id, {"FILE", &CtlCommand::policy_file}},
       {"--expected-version"}, {}, "policy set KEY_ID FILE [--expected-version N]",
       "Validates and stores the JSON release policy in FILE (\"-\" reads stdin). With\n"
       "      --expected-version, only if the stored policy is still version N (0: none)."},
      {"policy", "get", K::kPolicyGet, {key_id}, {}, {}, "policy get KEY_ID",
       "Prints the stored canonical policy JSON."},
      {"policy", "test", K::kPolicyTest, {key_id}, {"--evidence", "--policy"}, {"--evidence"},
       "policy test KEY_ID --evidence FILE [--evidence FILE...] [--policy FILE]",
       "Dry run: verifies each captured kb.v1.Evidence (binary or protobuf JSON) with\n"
       "      the broker's verifiers (binding not checked) and evaluates the stored policy,\n"
       "      or the candidate policy FILE, against it. Releases nothing. Exit 1 if any\n"
       "      evidence would be denied."},
      {"policy", "show", K::kPolicyShow, {key_id}, {}, {}, "policy show KEY_ID",
       "Prints the stored policy as a table: RULE NAME CLAIM VALUE (--json: the policy)."},
      {"policy", "add-rule", K::kPolicyAddRule, {key_id},
       {"--name", "--evidence-type", "--claim", "--value"}, {"--claim", "--value"},
       "policy add-rule KEY_ID [--name NAME] [--evidence-type TYPE...] --claim CLAIM\n"
       "             --value VALUE [--value VALUE...]",
       "Appends a rule allowing CLAIM to hold one of the values (and the evidence types)."},
      {"policy", "remove-rule", K::kPolicyRemoveRule, {key_id}, {"--rule"}, {"--rule"},
       "policy remove-rule KEY_ID --rule N", "Removes rule N (0 is the first)."},
      {"policy", "add-value", K::kPolicyAddValue, {key_id}, {"--rule", "--claim", "--value"},
       {"--claim", "--value"},
       "policy add-value KEY_ID [--rule N] --claim CLAIM --value VALUE [--value VALUE...]",
       "Allows more values of a claim: snp.measurement, snp.host_data, tdx.mrtd,\n"
       "      tdx.rtmr0..3, tdx.tcb_status, pcr:BANK:INDEX, machines, evidence_types.\n"
       "      --rule defaults to the policy's only rule. Reads, edits and stores the\n"
       "      policy (compare-and-set on its version)."},
      {"policy", "remove-value", K::kPolicyRemoveValue, {key_id}, {"--rule", "--claim", "--value"},
       {"--claim", "--value"},
       "policy remove-value KEY_ID [--rule N] --claim CLAIM --value VALUE [--value VALUE...]",
       "Stops allowing values of a claim (removing a PCR's or RTMR's last value drops it)."},
      {"policy", "set-pcr", K::kPolicySetPcr, {key_id}, {"--rule", "--bank", "--index", "--value"},
       {"--index", "--value"},
       "policy set-pcr KEY_ID [--rule N] [--bank sha256] --index I --value HEX [--value HEX...]",
       "Sets the allowed values of PCR BANK:I, replacing any it had."},
      {"policy", "unset-pcr", K::kPolicyUnsetPcr, {key_id}, {"--rule", "--bank", "--index"},
       {"--index"}, "policy unset-pcr KEY_ID [--rule N] [--bank sha256] --index I",
       "Removes the requirement on PCR BANK:I."},
      {"policy", "set-min-tcb", K::kPolicySetMinTcb, {key_id}, {"--rule", "--tcb"}, {"--tcb"},
       "policy set-min-tcb KEY_ID [--rule N] --tcb bootloader=N,tee=N,snp=N,microcode=N",
       "Sets minimum SEV-SNP REPORTED_TCB components (those not named are kept)."},
      {"policy", "add-from-evidence", K::kPolicyAddFromEvidence, {key_id},
       {"--rule", "--new-rule", "--name", "--evidence", "--claims"}, {"--evidence", "--claims"},
       "policy add-from-evidence KEY_ID [--rule N | --new-rule [--name NAME]]\n"
       "             --evidence FILE [--evidence FILE...] --claims LIST",
       "Allows the values the broker verified in captured evidence (as `policy test`):\n"
       "      LIST is e.g. snp.measurement,pcr:sha256:0-7,machine,evidence_type,\n"
       "      snp.reported_tcb (as the minimum TCB). --new-rule starts a rule."},
      {"ak", "register", K::kAkRegister, {}, {"--machine", "--ak-public"},
       {"--machine", "--ak-public"}, "ak register --machine NAME --ak-public FILE",
       "Trusts a TPM attestation key for machine NAME. FILE holds the marshaled\n"
       "      TPMT_PUBLIC exactly as `kbunlock attestation-key --out FILE` writes it."},
      {"ak", "list", K::kAkList, {}, {}, {}, "ak list",
       "Lists the registered attestation keys: machine and AK name (hex)."},
      {"ak", "remove", K::kAkRemove, {ak_name}, {}, {}, "ak remove AK_NAME",
       "Stops trusting one attestation key (AK_NAME in hex, as `ak list` shows it)."},
      {"machine", "deny", K::kMachineDeny, {machine}, {"--reason"}, {},
       "machine deny NAME [--reason TEXT]",
       "Refuses every key to machine NAME (after attestation)."},
      {"machine", "allow", K::kMachineAllow, {machine}, {}, {}, "machine allow NAME",
       "Lifts a denial."},
      {"machine", "list", K::kMachineList, {}, {}, {}, "machine list",
       "Lists the denied machines."},
      {"machine", "forget", K::kMachineForget, {machine}, {}, {}, "machine forget NAME",
       "For a machine that is gone: removes its attestation keys, enrolment\n"
       "      confirmations and offline grants; its earlier releases stop counting in\n"
       "      rotation-status and key retire. A denial and offline revocations stay."},
      {"offline", "revoke", K::kOfflineRevoke, {key_id}, {"--machine", "--reason"}, {},
       "offline revoke KEY_ID [--machine NAME] [--reason TEXT]",
       "Revokes the key's offline grace for machine NAME (default: every machine):\n"
       "      releases grant 0 offline boots, so guests drop their sealed copies."},
      {"offline", "restore", K::kOfflineRestore, {key_id}, {"--machine"}, {},
       "offline restore KEY_ID [--machine NAME]",
       "Lifts a revocation made with the same KEY_ID and --machine."},
      {"offline", "list", K::kOfflineList, {}, {"--key-id"}, {}, "offline list [--key-id KEY_ID]",
       "Lists the machines holding an offline grant (a vTPM-sealed copy from their\n"
       "      latest release) per key, and the offline revocations in force."},
      {"collateral", "import", K::kCollateralImport,
       {{"FILE...", &CtlCommand::collateral_file}}, {}, {}, "collateral import FILE...",
       "Imports VCEK/VLEK certificates, Intel TCB Signing / PCK CA certificates, TDX\n"
       "      tcbInfo and QE identity JSON, and Intel CRLs into the broker's collateral\n"
       "      cache, each verified and checked for validity now; prints kind, identity and\n"
       "      validity per file. Exit status 1 if any file is refused (the others are\n"
       "      imported)."},
      {"collateral", "list", K::kCollateralList, {}, {}, {}, "collateral list",
       "Lists the cached collateral: id, kind, identity, validity, name."},
      {"collateral", "delete", K::kCollateralDelete, {{"ID", &CtlCommand::collateral_id}}, {}, {},
       "collateral delete ID", "Removes entry ID (from `collateral list`) from the cache."},
      {"kek", "status", K::kKekStatus, {}, {}, {}, "kek status",
       "Lists the KEKs the broker's store has known, which one is current, and how\n"
       "      many key versions each seals."},
      {"kek", "rotate", K::kKekRotate, {}, {"--batch"}, {}, "kek rotate [--batch N]",
       "Re-seals every key version still under a previous KEK (previous_keks) under\n"
       "      the current one, N per step (default 500), online; then says which previous\n"
       "      KEKs the config may drop."},
      {"audit", "list", K::kAuditList, {},
       {"--limit", "--all", "--before-id", "--key-id", "--machine", "--actor", "--decision",
        "--since"}, {},
       "audit list [--limit N | --all] [--before-id ID] [--key-id KEY_ID]\n"
       "             [--machine NAME | --actor ACTOR] [--decision allow|deny] [--since RFC3339]",
       "Prints the newest audit events first (default 100, --all for every one; fetched\n"
       "      in pages): id time actor action key decision reason. --before-id ID starts\n"
       "      below record ID. --machine NAME means --actor machine:NAME."},
      {"audit", "verify", K::kAuditVerify, {}, {}, {}, "audit verify",
       "Verifies the audit hash chain; exit status 1 names the first broken record."},
      {"help", "", K::kHelp, {}, {}, {}, "help", "Prints this text."},
  };
  // clang-format on
  return *commands;
}

}  // namespace kb
