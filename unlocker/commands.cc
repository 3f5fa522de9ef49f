#include "unlocker/commands.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "unlocker/cli/crypttab.h"
#include "unlocker/cli/status_output.h"
#include "unlocker/cli/unlock_targets.h"
#include "unlocker/command_help.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/volume_flows.h"
#include "unlocker/luks/cryptsetup_volume.h"
#include "unlocker/wiring.h"

namespace kb::kbunlock {

constexpr char kUsage[] = R"(usage:
  kbunlock enroll --device DEV --broker HOST:PORT[,HOST:PORT...] --key-id ID
                  --passphrase-file FILE|- [--ca FILE] [--pcrs 0,7]
                  [--transfer-key ecc-p256|rsa-2048|rsa-3072] [--token-broker HOST:PORT,...]
                  [--ak-trust registered|ek] [--replace] [TPM options]
  kbunlock unlock (--device DEV (--name NAME | --test) | --crypttab NAME | --all [--test])
                  [--ca FILE] [--deadline S] [--offline-after S] [--crypttab-file FILE]
                  [--network-ready-file FILE] [--network-request-file FILE]
                  [--attester-wait S] [TPM options]
  kbunlock rekey --device DEV [--ca FILE] [TPM options]   (re-enrol to the newest key version)
  kbunlock status --device DEV [--json | --quiet-if-no-token [--evidence-kinds]]
                  (exit 6: no token; 0: has one, silent, or with --evidence-kinds the kind
                  each token attests with, one per line)
  kbunlock attestation-key --out FILE [TPM options]
  kbunlock --version
  kbunlock COMMAND --help  (or kbunlock help COMMAND): that command's options
TPM options: --tcti TCTI (default device:/dev/tpmrm0)  --ak-handle HANDLE (default 0x81000100)
Evidence (enroll, unlock): --evidence auto|tpm|azure|snp|tdx (enroll default auto, recorded in
  the token; unlock default: the token's kind)  --azure-ak-handle HANDLE (default 0x81000003)
  --azure-vcek FILE  --sev-guest PATH (default /dev/sev-guest)
  --tsm-report-dir DIR (default /sys/kernel/config/tsm/report)
Other: --timeout SECONDS per broker call (default 10); --deadline SECONDS hard bound on the
whole command; --quiet-if-no-token (exit 6 silently); --ca defaults to /etc/keybroker/ca.pem
Exit codes: 0 ok, 1 internal, 2 usage/config/CA mismatch, 3 broker unreachable, 4 denied by
broker, 5 TPM unavailable, 6 no keybroker token, 7 volume error, 8 key does not open keyslot
)";

namespace {

const std::set<std::string> kValued = {"--device",
                                       "--broker",
                                       "--key-id",
                                       "--passphrase-file",
                                       "--ca",
                                       "--pcrs",
                                       "--transfer-key",
                                       "--tcti",
                                       "--ak-handle",
                                       "--timeout",
                                       "--name",
                                       "--out",
                                       "--deadline",
                                       "--token-broker",
                                       "--crypttab",
                                       "--crypttab-file",
                                       "--evidence",
                                       "--azure-ak-handle",
                                       "--azure-vcek",
                                       "--sev-guest",
                                       "--tsm-report-dir",
                                       "--ak-trust",
                                       "--offline-after",
                                       "--network-ready-file",
                                       "--network-request-file",
                                       "--attester-wait"};
const std::set<std::string> kSwitches = {"--test",    "--quiet-if-no-token", "--all",
                                         "--replace", "--evidence-kinds",    "--json"};

absl::Status Enroll(const ParsedArgs& a) {
  EnrollOptions options;
  ASSIGN_OR_RETURN(std::string brokers, Required(a, "--broker"));
  options.endpoints = absl::StrSplit(brokers, ',', absl::SkipEmpty());
  if (a.Has("--token-broker")) {
    options.token_endpoints = absl::StrSplit(a.Get("--token-broker"), ',', absl::SkipEmpty());
  }
  ASSIGN_OR_RETURN(options.target.key_id, Required(a, "--key-id"));
  options.replace = a.Has("--replace");
  ASSIGN_OR_RETURN(std::string pass_file, Required(a, "--passphrase-file"));
  auto pcrs = ParsePcrList(a.Get("--pcrs", "0,7"));
  if (!pcrs.ok()) return Usage(pcrs.status().message());
  options.target.pcrs = *pcrs;
  auto type = ParseTransferKeyType(a.Get("--transfer-key", "ecc-p256"));
  if (!type.ok()) return Usage(type.status().message());
  options.target.transfer_key = *type;
  ASSIGN_OR_RETURN(options.ca_pem, ReadCa(a));
  auto existing = ReadSecretFile(pass_file);
  if (!existing.ok()) return WithExitCode(existing.status(), ExitCode::kUsage);
  ASSIGN_OR_RETURN(BrokerConnector connect, Connector(a, options.ca_pem));
  ASSIGN_OR_RETURN(auto volume, OpenVolume(a));
  ASSIGN_OR_RETURN(AttestingTpm tpm, OpenAttestingTpm(a, /*tokens_decide=*/false));
  options.evidence = tpm.kind;
  options.evidence_for = tpm.evidence->AsFunction();
  const std::string ak_trust = a.Get("--ak-trust", "registered");
  if (ak_trust != "registered" && ak_trust != "ek") {
    return Usage("--ak-trust must be 'registered' or 'ek'");
  }
  if (ak_trust == "ek") {
    if (tpm.kind != "tpm" || !tpm.tpm) {
      return Usage("--ak-trust ek needs TPM quote evidence (--evidence tpm)");
    }
    options.ak_trust = kAkTrustEk;
    ASSIGN_OR_RETURN(options.activate_ak, EkActivator(a, options.ca_pem, *tpm.tpm));
  }
  Say(absl::StrCat("attesting with ", tpm.kind, " evidence"));
  ASSIGN_OR_RETURN(KeybrokerToken token,
                   kb::Enroll(*volume, tpm.flow_tpm(), connect, *existing, options, Say));
  std::printf("enrolled %s: keyslot %d, token %d, key %s version %u\n", a.Get("--device").c_str(),
              token.keyslot, token.token_id, token.key_id.c_str(), token.key_version);
  return absl::OkStatus();
}

void ReportUnlocked(const UnlockTarget& t, const UnlockResult& r) {
  if (t.name.empty()) {
    std::printf("key '%s' version %u from %s opens keyslot %d of %s (test only)\n",
                r.key_id.c_str(), r.version, r.endpoint.c_str(), r.keyslot, t.device.c_str());
  } else {
    std::printf("opened %s as /dev/mapper/%s with key '%s' version %u from %s\n", t.device.c_str(),
                t.name.c_str(), r.key_id.c_str(), r.version, r.endpoint.c_str());
  }
  if (r.latest_version > r.version) {
    Say(absl::StrCat("note: key version ", r.latest_version, " exists; re-enrol to use it"));
  }
}

absl::StatusOr<std::vector<CrypttabEntry>> ReadCrypttab(const ParsedArgs& a, bool required) {
  auto text = ReadFile(a.Get("--crypttab-file", "/etc/crypttab"));
  if (!text.ok()) {
    if (!required && absl::IsNotFound(text.status())) return std::vector<CrypttabEntry>();
    return WithExitCode(text.status(), ExitCode::kUsage);
  }
  auto entries = ParseCrypttab(*text);
  if (!entries.ok()) return WithExitCode(entries.status(), ExitCode::kUsage);
  return entries;
}

// --device DEV (--name NAME | --test), --crypttab NAME, or --all.
absl::StatusOr<std::vector<UnlockTarget>> Targets(const ParsedArgs& a) {
  const int modes = a.Has("--device") + a.Has("--crypttab") + a.Has("--all");
  if (modes != 1) return Usage("unlock needs exactly one of --device, --crypttab, --all");
  if (a.Has("--device")) {
    if (a.Has("--test") == a.Has("--name")) {
      return Usage("unlock --device needs exactly one of --name, --test");
    }
    return std::vector<UnlockTarget>{{a.Get("--device"), a.Get("--name")}};
  }
  if (a.Has("--name")) return Usage("--name goes with --device only");
  ASSIGN_OR_RETURN(auto crypttab, ReadCrypttab(a, a.Has("--crypttab")));
  std::vector<UnlockTarget> targets;
  if (a.Has("--crypttab")) {
    auto t = CrypttabTarget(crypttab, a.Get("--crypttab"));
    if (!t.ok()) return WithExitCode(t.status(), ExitCode::kUsage);
    targets.push_back(*t);
  } else {
    targets = DiscoverKeybrokerVolumes(crypttab);
  }
  if (a.Has("--test")) {
    for (UnlockTarget& t : targets) t.name.clear();
  }
  return targets;
}

// --offline-after in seconds, or `otherwise` when it is not given.
absl::StatusOr<absl::Duration> OfflineAfter(const ParsedArgs& a, absl::Duration otherwise) {
  if (!a.Has("--offline-after")) return otherwise;
  int seconds = 0;
  if (!absl::SimpleAtoi(a.Get("--offline-after"), &seconds) || seconds < 0) {
    return Usage("--offline-after must be a number of seconds (0 or more)");
  }
  return absl::Seconds(seconds);
}

// Unlocks each target over its opened volume; the first error, after trying them all.
absl::Status UnlockEach(const std::vector<UnlockTarget>& targets,
                        std::vector<absl::StatusOr<std::unique_ptr<Volume>>>& volumes,
                        AttestingTpm& tpm, const BrokerConnector& connect, UnlockOptions& options) {
  absl::Status first_error;
  for (size_t i = 0; i < targets.size(); ++i) {
    const UnlockTarget& t = targets[i];
    options.map_name = t.name;
    auto r = [&]() -> absl::StatusOr<UnlockResult> {
      if (!volumes[i].ok()) return volumes[i].status();
      return kb::Unlock(**volumes[i], tpm.flow_tpm(), connect, options, Say);
    }();
    if (r.ok()) {
      ReportUnlocked(t, *r);
      continue;
    }
    if (targets.size() > 1) Say(absl::StrCat(t.device, ": ", r.status().message()));
    if (first_error.ok()) first_error = r.status();
  }
  return first_error;
}

// `dry_run`: unlock --test (verify only, change nothing); rekey verifies only but maintains.
absl::Status Unlock(const ParsedArgs& a, bool dry_run) {
  ASSIGN_OR_RETURN(std::vector<UnlockTarget> targets, Targets(a));
  if (targets.empty()) {
    Say("no locked volume with a keybroker token found");
    return absl::OkStatus();
  }
  // Every header is read once, up front: the tokens decide what a boot waits for, and a boot
  // volume without one is left alone before anything else is checked.
  std::vector<absl::StatusOr<std::unique_ptr<Volume>>> volumes;
  for (const UnlockTarget& t : targets) volumes.push_back(OpenVolume(t.device));
  ASSIGN_OR_RETURN(std::vector<KeybrokerToken> tokens, BootTokens(a, volumes));
  UnlockOptions options;
  options.dry_run = dry_run;
  ASSIGN_OR_RETURN(options.offline_after, OfflineAfter(a, options.offline_after));
  options.retry = BootRetry();
  WaitForNetworkReadyFile(a, options.retry);
  ASSIGN_OR_RETURN(options.ca_pem, ReadCa(a));
  ASSIGN_OR_RETURN(BrokerConnector connect, Connector(a, options.ca_pem));
  RETURN_IF_ERROR(AwaitAttestersAndAskForNetwork(a, tokens));
  // The token records the kind it was enrolled with; an explicit --evidence overrides it.
  const bool forced = a.Has("--evidence") && a.Get("--evidence") != "auto";
  ASSIGN_OR_RETURN(AttestingTpm tpm, OpenAttestingTpm(a, /*tokens_decide=*/!forced, tokens));
  options.evidence_for = tpm.evidence->AsFunction(forced ? tpm.kind : "");
  if (tpm.tpm) {  // no EK activation without a TPM
    ASSIGN_OR_RETURN(options.activate_ak, EkActivator(a, options.ca_pem, *tpm.tpm));
  }
  return UnlockEach(targets, volumes, tpm, connect, options);
}

absl::Status Status(const ParsedArgs& a) {
  ASSIGN_OR_RETURN(auto volume, OpenVolume(a));
  auto slots = volume->ListKeyslots();
  if (!slots.ok()) return WithExitCode(slots.status(), ExitCode::kVolumeError);
  auto tokens = volume->ListTokens();
  if (!tokens.ok()) return WithExitCode(tokens.status(), ExitCode::kVolumeError);
  // For scripts: exit 6 when there is nothing for keybroker to unlock, 0 (and nothing printed)
  // when there is.
  if (a.Has("--quiet-if-no-token")) {
    if (tokens->empty()) {
      return WithExitCode(absl::NotFoundError("volume has no keybroker token"), ExitCode::kNoToken);
    }
    // What each token attests with (the initramfs script asked this before kbunlock waited
    // for the devices itself, --attester-wait).
    if (a.Has("--evidence-kinds")) {
      for (const KeybrokerToken& t : *tokens) {
        std::printf("%s\n", t.evidence.c_str());
        // A TEE token's offline copy is sealed in the vTPM.
        if (t.offline.has_value() && (t.evidence == "snp" || t.evidence == "tdx")) {
          std::printf("tpm\n");
        }
      }
    }
    return absl::OkStatus();
  }
  const std::string out = a.Has("--json") ? StatusJson(a.Get("--device"), *slots, *tokens)
                                          : StatusText(*slots, *tokens);
  std::fputs(out.c_str(), stdout);
  return absl::OkStatus();
}

absl::Status ExportAk(const ParsedArgs& a) {
  ASSIGN_OR_RETURN(std::string out, Required(a, "--out"));
  ASSIGN_OR_RETURN(auto tpm, OpenTpm(a));
  auto pub = tpm->AttestationKeyPublic();
  if (!pub.ok()) return WithExitCode(pub.status(), ExitCode::kTpmUnavailable);
  RETURN_IF_ERROR(WriteFileAtomic(out, *pub, 0644));
  std::printf("wrote the attestation key's public area (%zu bytes) to %s\n", pub->size(),
              out.c_str());
  return absl::OkStatus();
}

absl::Status Rekey(ParsedArgs& a) {
  // Re-enrolment happens on every unlock that learns of a newer version; rekey is an unlock
  // that activates nothing.
  a.flags["--test"] = "";
  return Unlock(a, /*dry_run=*/false);
}

// The command table: every kbunlock command, by name.
struct Command {
  absl::string_view name;
  absl::Status (*run)(ParsedArgs& a);
};

constexpr Command kCommands[] = {
    {"enroll", [](ParsedArgs& a) { return Enroll(a); }},
    {"unlock", [](ParsedArgs& a) { return Unlock(a, a.Has("--test")); }},
    {"rekey", Rekey},
    {"status", [](ParsedArgs& a) { return Status(a); }},
    {"attestation-key", [](ParsedArgs& a) { return ExportAk(a); }},
};

}  // namespace

const char* UsageText() { return kUsage; }

absl::Status Dispatch(const std::vector<std::string>& argv) {
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == "--help" || argv[i] == "-h") {  // `kbunlock unlock --help`
      const char* help = CommandHelp(argv[0]);
      std::fputs(help != nullptr ? help : kUsage, stdout);
      return absl::OkStatus();
    }
  }
  auto args = ParseArgs(argv, kValued, kSwitches);
  if (!args.ok()) return Usage(args.status().message());
  RETURN_IF_ERROR(ArmDeadline(*args));
  for (const Command& command : kCommands) {
    if (command.name == args->command) return command.run(*args);
  }
  return Usage(absl::StrCat("unknown command '", args->command, "'"));
}

}  // namespace kb::kbunlock
