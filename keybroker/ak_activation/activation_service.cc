#include "keybroker/ak_activation/activation_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/tpm/make_credential.h"
#include "common/tpm/tpm_structures.h"
#include "common/withheld.h"

namespace kb {
namespace {

using absl::StatusCode;

// Each check's name, as reported in rejections and audit records.
constexpr absl::string_view kEnabled = "ek_path_enabled";
constexpr absl::string_view kAkParse = "ak_public_parse";
constexpr absl::string_view kAkAttributes = "ak_attributes";
constexpr absl::string_view kEkPublicKey = "ek_public_key";
constexpr absl::string_view kMachineAllowed = "machine_allowed";
constexpr absl::string_view kActivationId = "activation_id";
constexpr absl::string_view kSecret = "credential_secret";

constexpr size_t kSecretSize = 32;

// The AK must be a restricted signing key that cannot leave its TPM (the properties an
// ActivateCredential proof of co-residence with the EK is worth something for).
absl::StatusOr<std::string> CheckAk(absl::string_view ak_public) {
  auto pub = ParseTpmtPublic(ak_public, "ak_public");
  if (!pub.ok()) {
    return ActivationCheckFailed(kAkParse, StatusCode::kInvalidArgument, pub.status().message());
  }
  constexpr TPMA_OBJECT kRequired =
      kAttestationKeyAttributes | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
  if ((pub->objectAttributes & kRequired) != kRequired ||
      (pub->objectAttributes & TPMA_OBJECT_DECRYPT) != 0) {
    return ActivationCheckFailed(kAkAttributes, StatusCode::kInvalidArgument,
                                 "AK is not a fixedTPM|fixedParent|sensitiveDataOrigin "
                                 "restricted signing-only key");
  }
  if (pub->nameAlg != TPM2_ALG_SHA256) {
    return ActivationCheckFailed(kAkAttributes, StatusCode::kInvalidArgument,
                                 "AK nameAlg must be SHA-256");
  }
  if (auto key = PublicKeyFromTpmt(*pub); !key.ok()) {
    return ActivationCheckFailed(kAkAttributes, StatusCode::kInvalidArgument,
                                 key.status().message());
  }
  return TpmName(pub->nameAlg, ak_public);
}

}  // namespace

std::string EkMachineName(absl::string_view ek_spki_der) {
  return absl::StrCat("ek:", HexEncode(Sha256(ek_spki_der).substr(0, 8)));
}

absl::StatusOr<v1::StartActivationResponse> AkActivationService::StartActivation(
    const v1::StartActivationRequest& request, absl::string_view peer) {
  std::string machine;
  auto response = Start(request, &machine);
  if (!response.ok()) {
    Audit("ak_activation_start", absl::StrCat("peer:", peer), response.status(),
          machine.empty() ? "" : absl::StrCat("machine ", machine));
    if (IsBrokerSideError(response.status())) {
      return WithheldFromClient("ak_activation_start", response.status());
    }
  }
  return response;
}

absl::StatusOr<v1::StartActivationResponse> AkActivationService::Start(
    const v1::StartActivationRequest& request, std::string* machine) {
  if (d_.ek_verifier == nullptr) {
    return ActivationCheckFailed(kEnabled, StatusCode::kFailedPrecondition,
                                 "this broker trusts no EK manufacturer CA (ek_ca_files is empty); "
                                 "register the attestation key with keybrokerctl instead");
  }
  ASSIGN_OR_RETURN(VerifiedEk ek,
                   d_.ek_verifier->Verify(request.ek_certificate(), d_.clock->Now()));
  *machine = EkMachineName(ek.spki_der);
  ASSIGN_OR_RETURN(std::string ak_name, CheckAk(request.ak_public()));
  RETURN_IF_ERROR(CheckMachineAllowed(*machine));
  ASSIGN_OR_RETURN(SecretBytes secret, RandomSecret(kSecretSize));
  auto made = MakeCredential(ek.public_key.get(), secret, ak_name);
  if (absl::IsInvalidArgument(made.status())) {
    return ActivationCheckFailed(kEkPublicKey, StatusCode::kInvalidArgument,
                                 made.status().message());
  }
  if (!made.ok()) return made.status();
  Pending pending{*machine, ak_name, request.ak_public(), std::move(secret),
                  d_.clock->Now() + ttl_};
  v1::StartActivationResponse out;
  out.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(pending.expires_at));
  ASSIGN_OR_RETURN(*out.mutable_activation_id(), AddPending(std::move(pending)));
  out.set_credential_blob(std::move(made->credential_blob));
  out.set_encrypted_secret(std::move(made->encrypted_secret));
  LogInfo("ak activation started for machine %s (AK %s...)", *machine,
          HexEncode(ak_name.substr(2, 8)));
  return out;
}

absl::StatusOr<v1::FinishActivationResponse> AkActivationService::FinishActivation(
    const v1::FinishActivationRequest& request, absl::string_view peer) {
  std::string machine;
  auto response = Finish(request, &machine);
  const std::string actor =
      machine.empty() ? absl::StrCat("peer:", peer) : absl::StrCat("machine:", machine);
  std::string detail;
  if (response.ok()) {
    detail = absl::StrCat("AK ", HexEncode(response->ak_name().substr(2, 8)), "... ",
                          response->newly_registered() ? "registered for machine "
                                                       : "already registered for machine ",
                          response->machine(), " through its EK certificate");
  }
  Audit("ak_activation_finish", actor, response.status(), detail);
  if (IsBrokerSideError(response.status())) {
    return WithheldFromClient("ak_activation_finish", response.status());
  }
  return response;
}

absl::StatusOr<v1::FinishActivationResponse> AkActivationService::Finish(
    const v1::FinishActivationRequest& request, std::string* machine) {
  ASSIGN_OR_RETURN(Pending pending, TakePending(request.activation_id()));
  *machine = pending.machine;
  if (d_.clock->Now() >= pending.expires_at) {
    return ActivationCheckFailed(kActivationId, StatusCode::kAborted, "activation expired");
  }
  const SecretBytes offered = SecretBytes::FromString(request.secret());
  if (!ConstantTimeEquals(offered, pending.secret)) {
    return ActivationCheckFailed(kSecret, StatusCode::kUnauthenticated,
                                 "the secret does not match: the AK is not in the TPM of the "
                                 "certified EK");
  }
  RETURN_IF_ERROR(CheckMachineAllowed(pending.machine));
  return Register(pending);
}

absl::Status AkActivationService::CheckMachineAllowed(const std::string& machine) {
  ASSIGN_OR_RETURN(auto denied, d_.denylist->Find(machine));
  if (!denied.has_value()) return absl::OkStatus();
  return ActivationCheckFailed(kMachineAllowed, StatusCode::kPermissionDenied,
                               absl::StrCat("machine ", machine, " denied by operator"));
}

absl::StatusOr<std::string> AkActivationService::AddPending(Pending pending) {
  ASSIGN_OR_RETURN(std::string raw_id, RandomBytes(16));
  const std::string id = HexEncode(raw_id);
  const absl::Time now = d_.clock->Now();
  kb::MutexLock lock(&mu_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second.expires_at <= now ? pending_.erase(it) : std::next(it);
  }
  if (pending_.size() >= max_pending_) {
    return absl::ResourceExhaustedError("too many pending AK activations; retry later");
  }
  pending_.emplace(id, std::move(pending));
  return id;
}

absl::StatusOr<AkActivationService::Pending> AkActivationService::TakePending(
    const std::string& id) {
  kb::MutexLock lock(&mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return ActivationCheckFailed(kActivationId, StatusCode::kAborted,
                                 "activation unknown or already used");
  }
  Pending out = std::move(it->second);
  pending_.erase(it);
  return out;
}

absl::StatusOr<v1::FinishActivationResponse> AkActivationService::Register(const Pending& pending) {
  v1::FinishActivationResponse out;
  out.set_ak_name(pending.ak_name);
  RegisteredAk ak{pending.ak_name, pending.machine, pending.ak_public, d_.clock->Now()};
  absl::Status s = d_.aks->Register(ak);
  if (absl::IsAlreadyExists(s)) {
    // Registered before (by an operator or an earlier activation): it stays as it is.
    ASSIGN_OR_RETURN(RegisteredAk existing, d_.aks->Lookup(pending.ak_name));
    out.set_machine(existing.machine);
    out.set_newly_registered(false);
    return out;
  }
  RETURN_IF_ERROR(s);
  out.set_machine(pending.machine);
  out.set_newly_registered(true);
  return out;
}

void AkActivationService::Audit(absl::string_view action, absl::string_view actor,
                                const absl::Status& outcome, absl::string_view detail) {
  AuditRecord record;
  record.time = d_.clock->Now();
  record.actor = std::string(actor);
  record.action = std::string(action);
  record.decision = outcome.ok() ? "allow" : "deny";
  record.reason = outcome.ok()
                      ? std::string(detail)
                      : absl::StrCat(outcome.message(), detail.empty() ? "" : "; ", detail);
  if (absl::Status s = d_.audit->Append(record); !s.ok()) {
    LogError("audit append failed for %s: %s", action, s.message());
  }
  LogInfo("%s %s actor=%s: %s", action, record.decision, record.actor, record.reason);
}

}  // namespace kb
