#include "unlocker/flow/volume_flows.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/enrolment_confirmation.h"
#include "unlocker/flow/offline_grace.h"
#include "unlocker/flow/rekey.h"

namespace kb {
namespace {

absl::Status VolumeError(absl::Status s) {
  const ExitCode code = absl::IsPermissionDenied(s) ? ExitCode::kWrongKey : ExitCode::kVolumeError;
  return WithExitCode(std::move(s), code);
}

std::string TransferKeyName(TransferKeyType type) {
  switch (type) {
    case TransferKeyType::kEccP256:
      return "ecc-p256";
    case TransferKeyType::kRsa2048:
      return "rsa-2048";
    case TransferKeyType::kRsa3072:
      return "rsa-3072";
  }
  return "ecc-p256";
}

// Adds the slot and token and verifies them; the caller rolls back on error.
absl::Status AddSlotAndToken(Volume& volume, const SecretBytes& existing,
                             const ReleasedKey& released, KeybrokerToken& token) {
  auto slot = volume.AddKeyslot(existing, released.key);
  if (!slot.ok()) return VolumeError(slot.status());
  token.keyslot = *slot;
  auto id = volume.WriteToken(token);
  if (!id.ok()) return VolumeError(id.status());
  token.token_id = *id;
  return VolumeError(volume.VerifyKey(token.keyslot, released.key));
}

// The keybroker tokens an enrolment replaces: none on a fresh volume; with existing ones, a
// refusal unless options.replace.
absl::StatusOr<std::vector<KeybrokerToken>> TokensToReplace(Volume& volume,
                                                            const EnrollOptions& options) {
  auto tokens = volume.ListTokens();
  if (!tokens.ok()) return VolumeError(tokens.status());
  if (tokens->empty() || options.replace) return *tokens;
  const KeybrokerToken& t = tokens->front();
  return WithExitCode(absl::FailedPreconditionError(absl::StrCat(
                          "the volume is already enrolled (token ", t.token_id, ", keyslot ",
                          t.keyslot, ", key '", t.key_id, "' version ", t.key_version,
                          "); --replace enrols again and removes the old token and its keyslot")),
                      ExitCode::kUsage);
}

void RemoveReplaced(Volume& volume, const KeybrokerToken& old, const Progress& progress) {
  const absl::Status s = RemoveTokenAndKeyslot(volume, old);
  progress(
      s.ok() ? absl::StrCat("replaced: removed token ", old.token_id, " and keyslot ", old.keyslot)
             : absl::StrCat("could not remove the replaced token ", old.token_id,
                            " or its keyslot ", old.keyslot, ": ", s.message()));
}

// The CA's fingerprint; compared with a token's `enrolled` one, through EnrolledCaSha256.
absl::StatusOr<std::string> CaFingerprint(const std::string& ca_pem,
                                          absl::string_view enrolled = "") {
  auto fp = EnrolledCaSha256(ca_pem, enrolled);  // CertificateSha256 when `enrolled` is empty
  if (!fp.ok()) {
    return WithExitCode(
        absl::InvalidArgumentError(absl::StrCat("broker CA: ", fp.status().message())),
        ExitCode::kUsage);
  }
  return fp;
}

}  // namespace

absl::StatusOr<KeybrokerToken> Enroll(Volume& volume, Tpm& tpm, const BrokerConnector& connect,
                                      const SecretBytes& existing, const EnrollOptions& options,
                                      const Progress& progress) {
  KeybrokerToken token;
  ASSIGN_OR_RETURN(token.ca_sha256, CaFingerprint(options.ca_pem));
  ASSIGN_OR_RETURN(std::vector<KeybrokerToken> previous, TokensToReplace(volume, options));
  // Before anything is released (and audited as allowed): a wrong passphrase stops here.
  RETURN_IF_ERROR(VolumeError(volume.VerifyPassphrase(existing)));
  std::unique_ptr<EvidenceSource> fallback;
  ASSIGN_OR_RETURN(EvidenceSource * source,
                   ResolveEvidenceSource(options.evidence_for, options.evidence, tpm, fallback));
  RETURN_IF_ERROR(ActivateForEnrolment(options.ak_trust, options.activate_ak, options.endpoints));
  ASSIGN_OR_RETURN(ReleasedKey released,
                   ObtainKeyFromAny(*source, connect, options.endpoints, options.target, progress));
  progress(absl::StrCat("received key '", options.target.key_id, "' version ", released.version,
                        " from ", released.endpoint));
  token.endpoints = options.token_endpoints.empty() ? options.endpoints : options.token_endpoints;
  token.key_id = options.target.key_id;
  token.key_version = released.version;
  token.pcrs = options.target.pcrs;
  token.transfer_key = TransferKeyName(options.target.transfer_key);
  token.evidence = options.evidence;
  token.ak_trust = options.ak_trust;
  token.vtpm = VtpmId(tpm);
  token.confirmed = false;  // until the broker records the enrolment
  absl::Status s = AddSlotAndToken(volume, existing, released, token);
  if (!s.ok()) {
    if (token.token_id >= 0) volume.RemoveToken(token.token_id).IgnoreError();
    if (token.keyslot >= 0) volume.RemoveKeyslot(token.keyslot).IgnoreError();
    return s;
  }
  progress(absl::StrCat("enrolled keyslot ", token.keyslot, " with token ", token.token_id));
  for (const KeybrokerToken& old : previous) {
    RemoveReplaced(volume, old, progress);
  }
  ConfirmPendingEnrolment(volume, *source, connect, options.endpoints, token, progress);
  // Enrolment is an online release: the first boot may already fall back to the copy.
  if (released.offline_boots > 0) {
    RefreshOfflineCopy(volume, tpm, token, released.key, released.offline_boots, progress);
  }
  return token;
}

namespace {

absl::Status OpenVolume(Volume& volume, const UnlockOptions& options, int keyslot,
                        const SecretBytes& key) {
  return VolumeError(options.map_name.empty() ? volume.VerifyKey(keyslot, key)
                                              : volume.Activate(options.map_name, keyslot, key));
}

// The offline path, after no broker answered: unseal the vTPM copy and open with it.
absl::StatusOr<UnlockResult> UnlockOffline(Volume& volume, Tpm& tpm, const UnlockOptions& options,
                                           const KeybrokerToken& token,
                                           const absl::Status& online_error,
                                           const Progress& progress) {
  uint64_t remaining = 0;
  ASSIGN_OR_RETURN(SecretBytes key,
                   UnsealAfterOnlineFailure(tpm, token, online_error, progress, &remaining));
  RETURN_IF_ERROR(OpenVolume(volume, options, token.keyslot, key));
  progress(absl::StrCat("opened from the vTPM-sealed copy; ", remaining,
                        " offline boots left until the broker is reached again"));
  return UnlockResult{token.keyslot,      token.key_id, token.key_version, token.key_version,
                      "vTPM-sealed copy", true,         remaining};
}

// Opens the volume through `token`; on an online release `key_out` gets the key (for a
// re-enrolment).
absl::StatusOr<UnlockResult> UnlockWithToken(Volume& volume, Tpm& tpm,
                                             const BrokerConnector& connect,
                                             const UnlockOptions& options,
                                             const KeybrokerToken& token, const Progress& progress,
                                             SecretBytes* key_out) {
  std::unique_ptr<EvidenceSource> fallback;
  ASSIGN_OR_RETURN(EvidenceSource * source,
                   ResolveEvidenceSource(options.evidence_for, token.evidence, tpm, fallback));
  auto released = ReleaseTokenKey(*source, tpm, connect, options, token, progress);
  if (!released.ok()) {
    if (ExitCodeOf(released.status()) != ExitCode::kBrokerUnreachable ||
        !token.offline.has_value()) {
      return released.status();
    }
    if (options.dry_run) {
      return WithExitCode(absl::Status(released.status().code(),
                                       absl::StrCat(released.status().message(),
                                                    "; the offline copy is not tried with --test "
                                                    "(it would spend an offline boot)")),
                          ExitCode::kBrokerUnreachable);
    }
    return UnlockOffline(volume, tpm, options, token, released.status(), progress);
  }
  RETURN_IF_ERROR(OpenVolume(volume, options, token.keyslot, released->key));
  if (options.dry_run) {
    if (token.offline.has_value() || released->offline_boots > 0) {
      progress("--test: the offline copy is left as it is");
    }
  } else if (released->latest_version <= token.key_version) {
    KeybrokerToken current = token;  // a re-enrolment would confirm its new token instead
    ConfirmPendingEnrolment(volume, *source, connect, token.endpoints, current, progress);
    RefreshOfflineCopy(volume, tpm, current, released->key, released->offline_boots, progress);
  }
  *key_out = std::move(released->key);
  return UnlockResult{
      token.keyslot,      token.key_id, released->version,      released->latest_version,
      released->endpoint, false,        released->offline_boots};
}

}  // namespace

absl::Status CheckEnrolledCa(absl::string_view ca_sha256, const KeybrokerToken& token) {
  if (token.ca_sha256 == ca_sha256) return absl::OkStatus();
  return WithExitCode(absl::FailedPreconditionError(absl::StrCat(
                          "broker CA (sha256 ", ca_sha256.substr(0, 16),
                          "...) is not the CA this volume was enrolled with (sha256 ",
                          token.ca_sha256.substr(0, 16), "...); refusing to continue")),
                      ExitCode::kUsage);
}

absl::StatusOr<SecretBytes> UnsealAfterOnlineFailure(Tpm& tpm, const KeybrokerToken& token,
                                                     const absl::Status& online_error,
                                                     const Progress& progress,
                                                     uint64_t* remaining) {
  progress("no broker reachable; trying the vTPM-sealed offline copy");
  auto key = UnsealOfflineCopy(tpm, token, remaining);
  if (!key.ok()) {
    return WithExitCode(
        absl::Status(online_error.code(), absl::StrCat(online_error.message(),
                                                       "; offline copy: ", key.status().message())),
        ExitCode::kBrokerUnreachable);
  }
  return key;
}

absl::StatusOr<ReleasedKey> ReleaseTokenKey(EvidenceSource& source, Tpm& tpm,
                                            const BrokerConnector& connect,
                                            const UnlockOptions& options,
                                            const KeybrokerToken& token, const Progress& progress) {
  ReleaseTarget target{token.key_id, token.key_version, token.pcrs, TransferKeyType::kEccP256,
                       options.dry_run};
  ASSIGN_OR_RETURN(target.transfer_key, ParseTransferKeyType(token.transfer_key));
  if (const std::string now = token.vtpm.empty() ? "" : VtpmId(tpm); IsAnotherVtpm(now, token)) {
    progress(absl::StrCat(
        "this vTPM (", now.substr(0, 8), "...) is not the one the volume was enrolled on (",
        token.vtpm.substr(0, 8),
        "...): its state was not kept (see \"A vTPM that is new on every boot\" in docs/boot.md)"));
  }
  RetryPolicy retry = options.retry;
  if (token.offline.has_value() && !options.dry_run) retry.unreachable_for = options.offline_after;
  auto released = ObtainKeyFromAny(source, connect, token.endpoints, target, progress, retry);
  if (!released.ok() && token.ak_trust == kAkTrustEk && options.activate_ak &&
      IsAkNotTrusted(released.status())) {
    progress("the broker does not trust the attestation key: proving it through the EK again");
    RETURN_IF_ERROR(options.activate_ak(token.endpoints));
    released = ObtainKeyFromAny(source, connect, token.endpoints, target, progress, retry);
  }
  return released;
}

absl::StatusOr<UnlockResult> Unlock(Volume& volume, Tpm& tpm, const BrokerConnector& connect,
                                    const UnlockOptions& options, const Progress& progress) {
  auto tokens = volume.ListTokens();
  if (!tokens.ok()) return VolumeError(tokens.status());
  if (tokens->empty()) {
    return WithExitCode(absl::NotFoundError("volume has no keybroker token (run kbunlock enroll)"),
                        ExitCode::kNoToken);
  }
  // The newest version first: after an interrupted re-enrolment both tokens exist.
  std::vector<KeybrokerToken> sorted = *tokens;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.key_version > b.key_version; });
  absl::Status last;
  for (const KeybrokerToken& token : sorted) {
    ASSIGN_OR_RETURN(std::string ca_sha256, CaFingerprint(options.ca_pem, token.ca_sha256));
    if (absl::Status ca = CheckEnrolledCa(ca_sha256, token); !ca.ok()) {
      last = ca;
      continue;
    }
    SecretBytes key;
    auto result = UnlockWithToken(volume, tpm, connect, options, token, progress, &key);
    if (!result.ok()) {
      last = result.status();
      continue;
    }
    if (options.dry_run) {
      if (result->latest_version > token.key_version) {
        progress(absl::StrCat("--test: version ", result->latest_version,
                              " is the newest; an unlock would re-enrol to it (not done)"));
      }
      return result;
    }
    RetireOlderTokens(volume, sorted, token, progress);
    if (!result->offline && result->latest_version > token.key_version) {
      auto fresh = ReEnroll(volume, tpm, options.evidence_for, connect, token, key,
                            result->latest_version, progress);
      if (fresh.ok()) {
        result->keyslot = fresh->keyslot;
        result->version = fresh->key_version;
      } else {
        progress(absl::StrCat(fresh.status().message(), "; the volume still opens with version ",
                              token.key_version));
      }
    }
    return result;
  }
  return last;
}

}  // namespace kb
