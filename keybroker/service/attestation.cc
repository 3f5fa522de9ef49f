// ReleaseService::Attest: the attestation step of releases and confirmations. The evidence is
// verified first, against the nonce the challenge id carries; then one store read spends the
// challenge, finds the machine (the registration of a TPM quote's AK) and reads the release's
// records, so that a release costs the store one round trip before its audit record.
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/request_deadline.h"
#include "common/status_macros.h"
#include "keybroker/service/release_service.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace {

absl::Status ChallengeUnknownError() {
  return absl::AbortedError("challenge unknown or already used");
}

// The nonce a challenge id carries: GetChallenge makes the id the nonce in hex. ABORTED as an
// unknown challenge for any other id (those of brokers from before, which were not).
absl::StatusOr<std::string> ChallengeNonce(absl::string_view id) {
  if (id.size() != 2 * kChallengeNonceSize) return ChallengeUnknownError();
  absl::StatusOr<std::string> nonce = HexDecode(id);
  if (!nonce.ok()) return ChallengeUnknownError();
  return nonce;
}

// The refusal of evidence whose machine the store read did not find: its AK is not registered.
absl::Status MachineUnknownError(const Claims& claims) {
  if (claims.attestation_key.empty()) {
    return CheckFailed("ak_trusted", absl::StatusCode::kUnauthenticated,
                       "the evidence names no machine");
  }
  return AkNotRegisteredError(claims.attestation_key);
}

}  // namespace

absl::StatusOr<ReleaseService::Attested> ReleaseService::Attest(const AttestationInput& in,
                                                                BindingFn bind,
                                                                Decision& decision) {
  decision.step = "challenge";
  if (d_.challenge_quota != nullptr) d_.challenge_quota->Release(std::string(in.challenge_id));
  ASSIGN_OR_RETURN(const std::string nonce, ChallengeNonce(in.challenge_id));
  // The store calls below decide how this attempt is recorded (its challenge spent, its
  // evidence's outcome audited one by one, not counted): like the audit record itself, they
  // get at least kAuditRecordFloor, whatever deadline the client chose.
  const RequestDeadline::Override floor(RequestDeadline::AtLeast(absl::Now(), kAuditRecordFloor));
  decision.step = "evidence";
  // The public bytes the evidence binds: the TPMT_PUBLIC, or the TEE key's SPKI DER.
  const std::string binding =
      bind(nonce, in.transfer_key.has_tpm() ? in.transfer_key.tpm().public_area()
                                            : in.transfer_key.spki_der());
  absl::StatusOr<Claims> claims = d_.verifier->Verify(in.evidence, in.transfer_key, binding);
  if (!claims.ok()) {
    decision.step = "challenge";
    RETURN_IF_ERROR(SpendAfterRefusal(in.challenge_id, in.key_id));
    decision.step = "evidence";
    decision.evidence_checked = true;
    return claims.status();
  }
  ASSIGN_OR_RETURN(ReleaseRecords records,
                   reads_->Read({.challenge_id = in.challenge_id,
                                 .key_id = in.key_id,
                                 .version = in.version,
                                 .machine = claims->machine,
                                 .attestation_key = claims->attestation_key}));
  decision.step = "challenge";
  RETURN_IF_ERROR(CheckChallenge(records.challenge, in.key_id));
  decision.step = "evidence";
  decision.evidence_checked = true;
  if (records.machine.empty()) return MachineUnknownError(*claims);
  claims->machine = records.machine;
  decision.actor = absl::StrCat("machine:", claims->machine);
  decision.step = "machine";
  if (records.denied.has_value()) {
    return absl::PermissionDeniedError("machine denied by operator");
  }
  return Attested{*std::move(claims), std::move(records)};
}

absl::Status ReleaseService::SpendAfterRefusal(absl::string_view challenge_id,
                                               absl::string_view key_id) {
  absl::StatusOr<Challenge> c = d_.challenges->Consume(challenge_id, key_id);
  if (absl::IsNotFound(c.status())) return ChallengeUnknownError();
  RETURN_IF_ERROR(c.status());
  return CheckChallenge(*c, key_id);
}

absl::Status ReleaseService::CheckChallenge(const std::optional<Challenge>& challenge,
                                            absl::string_view key_id) {
  if (!challenge.has_value()) return ChallengeUnknownError();
  if (d_.clock->Now() >= challenge->expires_at) return absl::AbortedError("challenge expired");
  if (challenge->key_id != key_id) {
    return absl::AbortedError("challenge was issued for another key id");
  }
  return absl::OkStatus();
}

}  // namespace kb
