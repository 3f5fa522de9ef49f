#include "unlocker/flow/rekey.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "unlocker/flow/enrolment_confirmation.h"
#include "unlocker/flow/offline_grace.h"

namespace kb {
namespace {

absl::Status Step(absl::string_view step, absl::Status s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("re-enrolment ", step, ": ", s.message()));
}

}  // namespace

absl::StatusOr<KeybrokerToken> ReEnroll(Volume& volume, Tpm& tpm,
                                        const EvidenceSourceFor& evidence_for,
                                        const BrokerConnector& connect, const KeybrokerToken& token,
                                        const SecretBytes& key, uint32_t latest,
                                        const Progress& progress) {
  progress(absl::StrCat("key '", token.key_id, "' was rotated: re-enrolling from version ",
                        token.key_version, " to ", latest));
  ReleaseTarget target{token.key_id, latest, token.pcrs, TransferKeyType::kEccP256};
  ASSIGN_OR_RETURN(target.transfer_key, ParseTransferKeyType(token.transfer_key));
  std::unique_ptr<EvidenceSource> fallback;
  auto source = ResolveEvidenceSource(evidence_for, token.evidence, tpm, fallback);
  RETURN_IF_ERROR(Step("evidence", source.status()));
  auto released = ObtainKeyFromAny(**source, connect, token.endpoints, target, progress);
  RETURN_IF_ERROR(Step("release", released.status()));
  auto slot = volume.AddKeyslot(key, released->key);
  RETURN_IF_ERROR(Step("add keyslot", slot.status()));
  KeybrokerToken fresh = token;
  fresh.token_id = -1;
  fresh.keyslot = *slot;
  fresh.key_version = latest;
  fresh.offline.reset();
  fresh.vtpm = VtpmId(tpm);  // the vTPM it runs on now, also when nothing is sealed
  fresh.confirmed = false;   // until the broker records the re-enrolment
  auto id = volume.WriteToken(fresh);
  RETURN_IF_ERROR(Step("write token", id.status()));
  fresh.token_id = *id;
  RETURN_IF_ERROR(Step("verify", volume.VerifyKey(fresh.keyslot, released->key)));
  RETURN_IF_ERROR(Step("remove old token", volume.RemoveToken(token.token_id)));
  RETURN_IF_ERROR(Step("remove old keyslot", volume.RemoveKeyslot(token.keyslot)));
  progress(absl::StrCat("re-enrolled: keyslot ", fresh.keyslot, " holds version ", latest,
                        "; version ", token.key_version, "'s keyslot ", token.keyslot,
                        " was wiped"));
  ConfirmPendingEnrolment(volume, **source, connect, token.endpoints, fresh, progress);
  RefreshOfflineCopy(volume, tpm, fresh, released->key, released->offline_boots, progress);
  return fresh;
}

absl::Status RemoveTokenAndKeyslot(Volume& volume, const KeybrokerToken& token, int keep_keyslot) {
  RETURN_IF_ERROR(volume.RemoveToken(token.token_id));
  if (token.keyslot < 0 || token.keyslot == keep_keyslot) return absl::OkStatus();
  return volume.RemoveKeyslot(token.keyslot);
}

void RetireOlderTokens(Volume& volume, const std::vector<KeybrokerToken>& tokens,
                       const KeybrokerToken& opened, const Progress& progress) {
  for (const KeybrokerToken& t : tokens) {
    if (t.token_id == opened.token_id || t.key_id != opened.key_id ||
        t.key_version >= opened.key_version) {
      continue;
    }
    const absl::Status s = RemoveTokenAndKeyslot(volume, t, opened.keyslot);
    progress(s.ok()
                 ? absl::StrCat("finished an interrupted re-enrolment: removed version ",
                                t.key_version, " (token ", t.token_id, ", keyslot ", t.keyslot, ")")
                 : absl::StrCat("could not remove version ", t.key_version, ": ", s.message()));
  }
}

}  // namespace kb
