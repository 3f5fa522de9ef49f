// ReleaseService::ConfirmEnrolment: a guest's attested confirmation of the key version its
// volume is enrolled with. Verified like a release (challenge, evidence, deny list) with its
// own binding; nothing is released, so no policy is evaluated.
#include "absl/strings/str_cat.h"
#include "common/binding.h"
#include "common/status_macros.h"
#include "keybroker/service/release_service.h"
#include "keybroker/service/validation.h"

namespace kb {
namespace {

absl::Status ValidateConfirmation(const v1::ConfirmEnrolmentRequest& r) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  if (r.challenge_id().empty()) return absl::InvalidArgumentError("challenge_id is empty");
  if (r.version() == 0) return absl::InvalidArgumentError("version must be at least 1");
  if (r.evidence().kind_case() == v1::Evidence::KIND_NOT_SET) {
    return absl::InvalidArgumentError("evidence is missing");
  }
  if (!r.transfer_key().has_tpm() && !r.transfer_key().has_spki_der()) {
    return absl::InvalidArgumentError("transfer_key is missing or of an unsupported kind");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ConfirmEnrolmentResponse> ReleaseService::DecideConfirmation(
    const v1::ConfirmEnrolmentRequest& r, Decision& decision) {
  RETURN_IF_ERROR(ValidateConfirmation(r));
  decision.key_version = r.version();
  if (d_.confirmations == nullptr) {
    return absl::FailedPreconditionError("this broker does not record enrolment confirmations");
  }
  ASSIGN_OR_RETURN(Attested attested,
                   Attest(
                       {r.challenge_id(), r.key_id(), r.version(), r.evidence(), r.transfer_key()},
                       [&](absl::string_view nonce, absl::string_view transfer_public) {
                         return ComputeConfirmationBinding(nonce, r.key_id(), r.version(),
                                                           transfer_public);
                       },
                       decision));
  const Claims& claims = attested.claims;
  decision.step = "key";
  // The attestation's read found the key and the version asked for (retired ones count).
  if (!attested.records.key.has_value()) return KeyNotFoundError(r.key_id());
  if (!attested.records.version.has_value()) {
    return absl::NotFoundError(absl::StrCat("key '", r.key_id(), "' has no version ", r.version()));
  }
  const EnrolmentConfirmation confirmation{r.key_id(), claims.machine, r.version(),
                                           d_.clock->Now()};
  RETURN_IF_ERROR(d_.confirmations->Confirm(confirmation));
  decision.reason = absl::StrCat("enrolled with version ", r.version(),
                                 " (no policy evaluated: ", "nothing released)");
  v1::ConfirmEnrolmentResponse out;
  out.set_key_id(r.key_id());
  out.set_version(r.version());
  out.set_machine(claims.machine);
  out.mutable_confirmed_at()->set_seconds(absl::ToUnixSeconds(confirmation.confirmed_at));
  return out;
}

absl::StatusOr<v1::ConfirmEnrolmentResponse> ReleaseService::ConfirmEnrolment(
    const v1::ConfirmEnrolmentRequest& request, absl::string_view peer) {
  const absl::Time start = d_.clock->Now();
  Decision decision{absl::StrCat("peer:", peer), PeerAddress(peer)};
  return Finish("confirm_enrolment", request.key_id(), decision,
                DecideConfirmation(request, decision),
                request.has_evidence() ? &request.evidence() : nullptr, start);
}

}  // namespace kb
