#include "unlocker/flow/ak_activation_flow.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

absl::Status TpmError(absl::string_view what, const absl::Status& s) {
  return WithExitCode(absl::Status(s.code(), absl::StrCat(what, ": ", s.message())),
                      ExitCode::kTpmUnavailable);
}

// The whole exchange with one broker.
absl::StatusOr<AkActivationResult> ActivateWith(AkActivationClient& client, TpmEndorsement& ek,
                                                const v1::StartActivationRequest& start,
                                                EkType type) {
  auto challenge = client.StartActivation(start);
  if (!challenge.ok()) return challenge.status();
  auto secret =
      ek.ActivateCredential(type, challenge->credential_blob(), challenge->encrypted_secret());
  if (!secret.ok()) return TpmError("TPM2_ActivateCredential", secret.status());
  v1::FinishActivationRequest finish;
  finish.set_activation_id(challenge->activation_id());
  finish.set_secret(std::string(secret->view()));
  auto done = client.FinishActivation(finish);
  finish.mutable_secret()->assign(finish.secret().size(), '\0');  // single-use, but still wipe
  if (!done.ok()) return done.status();
  return AkActivationResult{done->machine(), done->newly_registered(), ""};
}

}  // namespace

absl::Status ActivateForEnrolment(const std::string& ak_trust, const AkActivator& activate,
                                  const std::vector<std::string>& endpoints) {
  if (ak_trust.empty()) return absl::OkStatus();
  if (ak_trust != kAkTrustEk || !activate) {
    return WithExitCode(absl::InvalidArgumentError(absl::StrCat(
                            "--ak-trust: '", ak_trust, "' is not available (registered, ek)")),
                        ExitCode::kUsage);
  }
  return activate(endpoints);
}

bool IsAkNotTrusted(const absl::Status& status) {
  return absl::IsUnauthenticated(status) && absl::StrContains(status.message(), "'ak_trusted'");
}

absl::StatusOr<AkActivationResult> ActivateAkThroughEk(Tpm& tpm, TpmEndorsement& endorsement,
                                                       const AkActivationConnector& connect,
                                                       const std::vector<std::string>& endpoints,
                                                       const Progress& progress) {
  auto cert = endorsement.ReadEkCertificate();
  if (!cert.ok()) return TpmError("reading the EK certificate", cert.status());
  v1::StartActivationRequest start;
  start.set_ek_certificate(cert->der);
  auto ak = tpm.AttestationKeyPublic();
  if (!ak.ok()) return TpmError("attestation key", ak.status());
  start.set_ak_public(*ak);
  const char* kind = cert->type == EkType::kRsa2048 ? "RSA 2048" : "ECC P-256";
  std::vector<std::string> unreachable;
  for (const std::string& endpoint : endpoints) {
    progress(absl::StrCat("proving the attestation key to broker ", endpoint, " with the TPM's ",
                          kind, " EK certificate"));
    auto client = connect(endpoint);
    auto result = client.ok() ? ActivateWith(**client, endorsement, start, cert->type)
                              : absl::StatusOr<AkActivationResult>(client.status());
    if (result.ok()) {
      result->endpoint = endpoint;
      progress(absl::StrCat("broker ", endpoint, " trusts the attestation key as machine ",
                            result->machine,
                            result->newly_registered ? "" : " (it was registered already)"));
      return result;
    }
    if (ExitCodeOf(result.status()) == ExitCode::kTpmUnavailable) return result.status();
    if (!IsTransportFailure(result.status())) {
      return WithExitCode(absl::Status(result.status().code(),
                                       absl::StrCat("AK activation: ", result.status().message())),
                          ExitCode::kDenied);
    }
    unreachable.push_back(std::string(result.status().message()));
  }
  return WithExitCode(
      absl::UnavailableError(absl::StrCat("AK activation: ", absl::StrJoin(unreachable, "; "))),
      ExitCode::kBrokerUnreachable);
}

}  // namespace kb
