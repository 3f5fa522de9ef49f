#include "unlocker/token_plugin/token_open.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "unlocker/attesting/attesting_tpm.h"
#include "unlocker/client/ak_activation_client.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/ak_activation_flow.h"
#include "unlocker/flow/volume_flows.h"
#include "unlocker/volume/token_json.h"

namespace kb {
namespace {

absl::StatusOr<std::string> ReadTokenCa(const std::string& ca_file, const KeybrokerToken& token) {
  auto ca_pem = ReadFile(ca_file);
  if (!ca_pem.ok()) {
    return WithExitCode(absl::FailedPreconditionError(
                            absl::StrCat("cannot read the broker CA: ", ca_pem.status().message())),
                        ExitCode::kUsage);
  }
  auto sha256 = EnrolledCaSha256(*ca_pem, token.ca_sha256);
  if (!sha256.ok()) {
    return WithExitCode(
        absl::InvalidArgumentError(absl::StrCat("broker CA: ", sha256.status().message())),
        ExitCode::kUsage);
  }
  RETURN_IF_ERROR(CheckEnrolledCa(*sha256, token));
  return *ca_pem;
}

// No new round starts once what is left is what the offline copy needs.
UnlockOptions OptionsFor(const PluginSettings& settings, absl::Time deadline) {
  UnlockOptions options;
  options.offline_after = settings.offline_after;
  options.retry.give_up_at = deadline - std::min(absl::Seconds(10), settings.timeout / 4);
  return options;
}

// No SIGALRM backstop inside another process: every call ends by `deadline` (a round is two
// calls, a challenge and a release or the activation's start and finish, so each call gets at
// most half of what is left).
absl::StatusOr<absl::Duration> CallTimeout(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return WithExitCode(absl::DeadlineExceededError("the token's time bound has passed"),
                        ExitCode::kBrokerUnreachable);
  }
  return std::max(absl::Milliseconds(200), std::min(absl::Seconds(10), left / 2));
}

// A token with "ak_trust":"ek" whose AK the broker no longer trusts (a database restored from
// before the activation, an AK the TPM made anew) proves it again through the EK certificate,
// as kbunlock does, by `give_up_at`: the time the offline copy needs stays untouched, and no
// activation starts after it.
AkActivator EkActivator(EsysTpm& tpm, const std::string& ca_pem, const std::string& ca_file,
                        absl::Time give_up_at, const Progress& progress) {
  AkActivationConnector connect =
      [ca_pem, ca_file, give_up_at](
          const std::string& endpoint) -> absl::StatusOr<std::unique_ptr<AkActivationClient>> {
    ASSIGN_OR_RETURN(absl::Duration timeout, CallTimeout(give_up_at));
    return ConnectAkActivation(endpoint, ca_pem, timeout, ca_file);
  };
  return [&tpm, connect, progress](const std::vector<std::string>& endpoints) {
    return ActivateAkThroughEk(tpm, tpm, connect, endpoints, progress).status();
  };
}

}  // namespace

absl::StatusOr<SecretBytes> OpenKeybrokerToken(absl::string_view token_json,
                                               const PluginSettings& settings,
                                               const Progress& progress) {
  const absl::Time deadline = absl::Now() + settings.timeout;
  auto token = KeybrokerTokenFromJson(token_json);
  if (!token.ok()) return WithExitCode(token.status(), ExitCode::kVolumeError);
  ASSIGN_OR_RETURN(std::string ca_pem, ReadTokenCa(settings.ca_file, *token));
  EvidenceConfig config;
  config.tcti = settings.tcti;
  config.sev_guest_path = settings.sev_guest;
  config.tsm_report_root = settings.tsm_report_dir;
  ASSIGN_OR_RETURN(AttestingTpm tpm,
                   OpenAttestingTpm(token->evidence, /*tokens_decide=*/false, config, progress));
  std::unique_ptr<EvidenceSource> fallback;
  ASSIGN_OR_RETURN(
      EvidenceSource * source,
      ResolveEvidenceSource(tpm.evidence->AsFunction(), token->evidence, tpm.flow_tpm(), fallback));
  const std::string ca_file = settings.ca_file;
  BrokerConnector connect(
      [ca_pem, ca_file,
       deadline](const std::string& endpoint) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
        ASSIGN_OR_RETURN(absl::Duration timeout, CallTimeout(deadline));
        return ConnectKeyRelease(endpoint, ca_pem, timeout, ca_file);
      });
  UnlockOptions options = OptionsFor(settings, deadline);
  options.ca_pem = ca_pem;
  if (tpm.tpm) {
    options.activate_ak =
        EkActivator(*tpm.tpm, ca_pem, ca_file, options.retry.give_up_at, progress);
  }
  auto released = ReleaseTokenKey(*source, tpm.flow_tpm(), connect, options, *token, progress);
  if (released.ok()) {
    progress(absl::StrCat("received key '", token->key_id, "' version ", released->version,
                          " from ", released->endpoint));
    return std::move(released->key);
  }
  if (ExitCodeOf(released.status()) != ExitCode::kBrokerUnreachable || !token->offline) {
    return released.status();
  }
  uint64_t remaining = 0;
  ASSIGN_OR_RETURN(
      SecretBytes key,
      UnsealAfterOnlineFailure(tpm.flow_tpm(), *token, released.status(), progress, &remaining));
  progress(absl::StrCat("using the vTPM-sealed copy; ", remaining,
                        " offline boots left until the broker is reached again"));
  return key;
}

}  // namespace kb
