#include "unlocker/wiring.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "unlocker/boot/boot_handshake.h"
#include "unlocker/client/ak_activation_client.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/evidence/choose_evidence.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/luks/cryptsetup_volume.h"

namespace kb::kbunlock {
namespace {

// The time the command must be done by (--deadline), or InfiniteFuture.
absl::Time g_deadline = absl::InfiniteFuture();

// --deadline: a hard bound on the whole command (a boot must never hang on keybroker). When it
// expires the process says so and exits with the "broker unreachable" code; nothing was
// activated (activation is the last, local step).
void OnDeadline(int) {
  static const char kMsg[] = "kbunlock: broker unreachable: overall deadline exceeded\n";
  (void)!write(2, kMsg, sizeof(kMsg) - 1);
  _exit(static_cast<int>(ExitCode::kBrokerUnreachable));
}

absl::StatusOr<uint32_t> HandleFlag(const ParsedArgs& a, const std::string& flag,
                                    uint32_t fallback) {
  if (!a.Has(flag)) return fallback;
  uint32_t handle = 0;
  if (!absl::SimpleHexAtoi(absl::StripPrefix(a.Get(flag), "0x"), &handle)) {
    return Usage(absl::StrCat(flag, " must be a hex handle like 0x81000100"));
  }
  return handle;
}

// The evidence sources' flags over their defaults: the TCTI, the AK handles, the Azure VCEK,
// the SEV-SNP guest device and the configfs-tsm directory.
absl::StatusOr<EvidenceConfig> EvidenceFlags(const ParsedArgs& a) {
  EvidenceConfig config;
  config.tcti = a.Get("--tcti", config.tcti);
  ASSIGN_OR_RETURN(config.tpm_ak_handle, HandleFlag(a, "--ak-handle", config.tpm_ak_handle));
  ASSIGN_OR_RETURN(config.azure_ak_handle,
                   HandleFlag(a, "--azure-ak-handle", config.azure_ak_handle));
  config.azure_vcek_file = a.Get("--azure-vcek");
  config.sev_guest_path = a.Get("--sev-guest", config.sev_guest_path);
  config.open_sev_guest = OpenSevGuestDevice;
  config.tsm_report_root = a.Get("--tsm-report-dir", config.tsm_report_root);
  return config;
}

}  // namespace

void Say(const std::string& line) { std::fprintf(stderr, "kbunlock: %s\n", line.c_str()); }

absl::Status Usage(absl::string_view why) {
  return WithExitCode(absl::InvalidArgumentError(why), ExitCode::kUsage);
}

absl::Status ArmDeadline(const ParsedArgs& a) {
  if (!a.Has("--deadline")) return absl::OkStatus();
  int seconds = 0;
  if (!absl::SimpleAtoi(a.Get("--deadline"), &seconds) || seconds <= 0) {
    return Usage("--deadline must be a positive number of seconds");
  }
  signal(SIGALRM, OnDeadline);
  alarm(static_cast<unsigned>(seconds));
  g_deadline = absl::Now() + absl::Seconds(seconds);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Required(const ParsedArgs& a, const std::string& flag) {
  if (!a.Has(flag)) return Usage(absl::StrCat(a.command, " needs ", flag));
  return a.Get(flag);
}

absl::StatusOr<std::unique_ptr<Tpm>> OpenTpm(const ParsedArgs& a) {
  EsysTpmOptions options;
  options.tcti = a.Get("--tcti", options.tcti);
  if (a.Has("--ak-handle") &&
      !absl::SimpleHexAtoi(absl::StripPrefix(a.Get("--ak-handle"), "0x"), &options.ak_handle)) {
    return Usage("--ak-handle must be a hex handle like 0x81000100");
  }
  auto tpm = EsysTpm::Create(options);
  if (!tpm.ok()) return WithExitCode(tpm.status(), ExitCode::kTpmUnavailable);
  return std::unique_ptr<Tpm>(std::move(*tpm));
}

// The TPM opened with the AK of the evidence kind `--evidence` names (or auto-detection finds),
// and the evidence sources over it; no TPM on a bare SEV-SNP/TDX guest (attesting_tpm.h).
// `tokens_decide`: an unlock without --evidence, where each volume's token names its kind.
absl::StatusOr<AttestingTpm> OpenAttestingTpm(const ParsedArgs& a, bool tokens_decide,
                                              const std::vector<KeybrokerToken>& tokens) {
  ASSIGN_OR_RETURN(EvidenceConfig config, EvidenceFlags(a));
  std::string requested = a.Get("--evidence", "auto");
  if (tokens_decide) {
    std::vector<std::string> kinds;
    for (const KeybrokerToken& t : tokens) kinds.push_back(t.evidence);
    requested = KindToOpenFor(requested, kinds);
  }
  return kb::OpenAttestingTpm(requested, tokens_decide, config, Say);
}

absl::StatusOr<std::unique_ptr<Volume>> OpenVolume(const ParsedArgs& a) {
  ASSIGN_OR_RETURN(std::string device, Required(a, "--device"));
  return OpenVolume(device);
}

absl::StatusOr<std::unique_ptr<Volume>> OpenVolume(const std::string& device) {
  auto volume = CryptsetupVolume::Open(device);
  if (!volume.ok()) return WithExitCode(volume.status(), ExitCode::kVolumeError);
  return std::unique_ptr<Volume>(std::move(*volume));
}

// Connections time out after --timeout seconds, or earlier when the --deadline is closer, so a
// black-holed broker cannot eat the time the offline copy needs.
absl::StatusOr<BrokerConnector> Connector(const ParsedArgs& a, const std::string& ca_pem) {
  int seconds = 10;
  if (a.Has("--timeout") && (!absl::SimpleAtoi(a.Get("--timeout"), &seconds) || seconds <= 0)) {
    return Usage("--timeout must be a positive number of seconds");
  }
  const std::string ca_file = CaFile(a);
  return BrokerConnector([ca_pem, ca_file, seconds](const std::string& endpoint) {
    absl::Duration timeout = absl::Seconds(seconds);
    timeout = std::max(absl::Seconds(1), std::min(timeout, g_deadline - absl::Now()));
    return ConnectKeyRelease(endpoint, ca_pem, timeout, ca_file);
  });
}

// With --deadline, keep retrying the brokers until the time left is what the offline copy and
// the activation need (a quarter of the deadline, at most 10 s).
RetryPolicy BootRetry() {
  RetryPolicy retry;
  if (g_deadline == absl::InfiniteFuture()) return retry;
  const absl::Duration left = g_deadline - absl::Now();
  retry.give_up_at = g_deadline - std::min(absl::Seconds(10), left / 4);
  return retry;
}

void WaitForNetworkReadyFile(const ParsedArgs& a, RetryPolicy& retry) {
  if (!a.Has("--network-ready-file")) return;
  const std::string path = a.Get("--network-ready-file");
  const absl::Time limit =
      retry.give_up_at == absl::InfinitePast() ? absl::Now() + absl::Seconds(60) : retry.give_up_at;
  retry.before_first_round = [path, limit] {
    if (access(path.c_str(), F_OK) == 0) return;
    Say(absl::StrCat("waiting for the network (", path, ")"));
    const absl::Time start = absl::Now();
    bool ready = false;
    while (!(ready = access(path.c_str(), F_OK) == 0) && absl::Now() < limit) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    const std::string waited =
        absl::StrFormat("%.2f s", absl::ToDoubleSeconds(absl::Now() - start));
    Say(ready
            ? absl::StrCat("the network is ready after ", waited)
            : absl::StrCat(path, " did not appear within ", waited, "; trying the brokers anyway"));
  };
}

namespace {
bool BootHandshake(const ParsedArgs& a) {
  return a.Has("--attester-wait") || a.Has("--network-request-file");
}
}  // namespace

absl::StatusOr<std::vector<KeybrokerToken>> BootTokens(
    const ParsedArgs& a, const std::vector<absl::StatusOr<std::unique_ptr<Volume>>>& volumes) {
  std::vector<KeybrokerToken> tokens;
  if (!BootHandshake(a)) return tokens;
  absl::Status not_luks2, open_error;
  for (const auto& volume : volumes) {
    auto listed = volume.ok() ? (*volume)->ListTokens() : volume.status();
    if (listed.ok()) {
      tokens.insert(tokens.end(), listed->begin(), listed->end());
    } else if (absl::IsInvalidArgument(listed.status())) {  // not LUKS2: no token either
      const absl::Status& e = listed.status();  // retagged: OpenVolume says kVolumeError
      if (not_luks2.ok()) {
        not_luks2 = WithExitCode(absl::Status(e.code(), e.message()), ExitCode::kNoToken);
      }
    } else if (open_error.ok()) {
      open_error = WithExitCode(listed.status(), ExitCode::kVolumeError);
    }
  }
  if (!tokens.empty()) return tokens;
  if (!open_error.ok()) return open_error;
  if (!not_luks2.ok()) return not_luks2;
  return WithExitCode(absl::NotFoundError("no keybroker token on the volume"), ExitCode::kNoToken);
}

absl::Status AwaitAttestersAndAskForNetwork(const ParsedArgs& a,
                                            const std::vector<KeybrokerToken>& tokens) {
  if (!BootHandshake(a)) return absl::OkStatus();
  int seconds = 10;
  if (a.Has("--attester-wait") &&
      (!absl::SimpleAtoi(a.Get("--attester-wait"), &seconds) || seconds < 0)) {
    return Usage("--attester-wait must be a number of seconds (0 or more)");
  }
  const std::string evidence = a.Get("--evidence", "auto");
  // An unknown kind is a usage error now, not after a wait for devices chosen without it.
  if (absl::Status known = ChooseEvidence(evidence, {}).status(); !known.ok()) {
    return Usage(known.message());
  }
  ASSIGN_OR_RETURN(EvidenceConfig config, EvidenceFlags(a));
  AttesterPaths paths;
  paths.tpm = TpmDevicePath(config.tcti);
  paths.sev_guest = config.sev_guest_path;
  paths.tsm_report_dir = config.tsm_report_root;
  // The wait ends a second before --deadline, so that it says what was missing.
  const absl::Duration wait =
      std::max(absl::ZeroDuration(),
               std::min(absl::Seconds(seconds), g_deadline - absl::Now() - absl::Seconds(1)));
  RETURN_IF_ERROR(WaitForAttesters(AttestersNeeded(tokens, evidence), paths, wait, Say));
  if (!a.Has("--network-request-file")) return absl::OkStatus();
  return RequestNetwork(a.Get("--network-request-file"));
}

// The EK activation (--ak-trust ek) over the attesting TPM, with the release client's timeouts.
absl::StatusOr<AkActivator> EkActivator(const ParsedArgs& a, const std::string& ca_pem,
                                        EsysTpm& tpm) {
  int seconds = 10;
  if (a.Has("--timeout") && (!absl::SimpleAtoi(a.Get("--timeout"), &seconds) || seconds <= 0)) {
    return Usage("--timeout must be a positive number of seconds");
  }
  AkActivationConnector connect = [ca_pem, ca_file = CaFile(a),
                                   seconds](const std::string& endpoint) {
    absl::Duration timeout = absl::Seconds(seconds);
    timeout = std::max(absl::Seconds(1), std::min(timeout, g_deadline - absl::Now()));
    return ConnectAkActivation(endpoint, ca_pem, timeout, ca_file);
  };
  return AkActivator([&tpm, connect](const std::vector<std::string>& endpoints) {
    return ActivateAkThroughEk(tpm, tpm, connect, endpoints, Say).status();
  });
}

std::string CaFile(const ParsedArgs& a) { return a.Get("--ca", "/etc/keybroker/ca.pem"); }

absl::StatusOr<std::string> ReadCa(const ParsedArgs& a) {
  auto pem = ReadFile(CaFile(a));
  if (!pem.ok()) return WithExitCode(pem.status(), ExitCode::kUsage);
  return pem;
}

}  // namespace kb::kbunlock
