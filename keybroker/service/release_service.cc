#include "keybroker/service/release_service.h"

#include "absl/strings/str_cat.h"
#include "common/binding.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "common/withheld.h"
#include "common/wrap/key_wrap.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/service/validation.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {

namespace {

// The evidence's kind as the metrics name it.
absl::string_view EvidenceKindName(const v1::Evidence* evidence) {
  switch (evidence == nullptr ? v1::Evidence::KIND_NOT_SET : evidence->kind_case()) {
    case v1::Evidence::kTpmQuote:
      return "tpm";
    case v1::Evidence::kSnpReport:
      return "snp";
    case v1::Evidence::kTdxQuote:
      return "tdx";
    case v1::Evidence::kAzureVtpm:
      return "azure";
    case v1::Evidence::KIND_NOT_SET:
      break;
  }
  return "none";
}

absl::Status ValidateRequest(const v1::ReleaseKeyRequest& r) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  if (r.challenge_id().empty()) return absl::InvalidArgumentError("challenge_id is empty");
  if (r.evidence().kind_case() == v1::Evidence::KIND_NOT_SET) {
    return absl::InvalidArgumentError("evidence is missing");
  }
  if (r.transfer_key().kind_case() == v1::TransferKey::KIND_NOT_SET) {
    return absl::InvalidArgumentError("transfer_key is missing");
  }
  if (!r.transfer_key().has_tpm() && !r.transfer_key().has_spki_der()) {
    return absl::InvalidArgumentError("unsupported transfer key kind");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::WrappedKey> Wrap(const v1::TransferKey& tk, const SecretBytes& key) {
  if (tk.has_spki_der()) return WrapToSpkiTransferKey(tk.spki_der(), key);
  auto pub = ParseTpmtPublic(tk.tpm().public_area(), "transfer key public area");
  if (!pub.ok()) return pub.status();
  return WrapToTpmTransferKey(*pub, tk.tpm().public_area(), key);
}

}  // namespace

absl::StatusOr<v1::GetChallengeResponse> ReleaseService::GetChallenge(
    const v1::GetChallengeRequest& request, absl::string_view peer) {
  RETURN_IF_ERROR(ValidateName("key_id", request.key_id()));
  const absl::Time now = d_.clock->Now();
  // The id is the nonce in hex: a release reads its nonce from it (Attest).
  ASSIGN_OR_RETURN(Challenge c, d_.challenges->New(request.key_id(), now + challenge_ttl_));
  if (d_.challenge_quota != nullptr) {
    RETURN_IF_ERROR(d_.challenge_quota->Reserve(c.id, PeerAddress(peer), c.expires_at, now));
  }
  if (absl::Status s = d_.challenges->Put(c, now); !s.ok()) {
    if (d_.challenge_quota != nullptr) d_.challenge_quota->Release(c.id);
    return s;
  }
  v1::GetChallengeResponse out;
  out.set_challenge_id(c.id);
  out.set_nonce(c.nonce);
  out.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(c.expires_at));
  return out;
}

absl::StatusOr<v1::ReleaseKeyResponse> ReleaseService::Decide(const v1::ReleaseKeyRequest& r,
                                                              Decision& decision) {
  RETURN_IF_ERROR(ValidateRequest(r));
  ASSIGN_OR_RETURN(
      Attested attested,
      Attest(
          {r.challenge_id(), r.key_id(), r.key_version(), r.evidence(), r.transfer_key()},
          [&](absl::string_view nonce, absl::string_view transfer_public) {
            return ComputeBinding(nonce, r.key_id(), transfer_public);
          },
          decision));
  const Claims& claims = attested.claims;
  ReleaseRecords& records = attested.records;
  decision.step = "key";
  if (!records.key.has_value()) return KeyNotFoundError(r.key_id());
  const KeyRecord& key = *records.key;
  if (key.disabled) return absl::PermissionDeniedError("key is disabled");
  if (key.policy_version == 0) {
    return absl::PermissionDeniedError("key has no release policy (default deny)");
  }
  decision.policy_version = key.policy_version;
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::ReleasePolicy> policy, Policy(key));
  decision.step = "policy";
  ASSIGN_OR_RETURN(PolicyDecision allowed, EvaluatePolicy(*policy, claims));
  decision.step = "key";
  decision.reason = absl::StrCat("policy v", key.policy_version, " rule ", allowed.rule);
  RETURN_IF_ERROR(ApplyOfflineRevocation(records, allowed, decision));
  if (key.active_version == 0) {
    return absl::PermissionDeniedError("every version of the key is retired");
  }
  ASSIGN_OR_RETURN(const uint32_t version,
                   ReleasableVersion(key, r.key_version(), records.version));
  decision.key_version = version;
  ASSIGN_OR_RETURN(SecretBytes material, records.material());
  v1::ReleaseKeyResponse out;
  ASSIGN_OR_RETURN(*out.mutable_wrapped_key(), Wrap(r.transfer_key(), material));
  // Before the response leaves: a grant is listed even if the audit then fails. A dry run seals
  // no offline copy in the guest, so it grants nothing; a release without offline grace
  // removes the machine's grant, if it may hold one.
  if (!r.dry_run() && (allowed.offline_boots > 0 || records.may_hold_offline_grant)) {
    RETURN_IF_ERROR(RecordGrant({r.key_id(), claims.machine, version, allowed.offline_boots}));
  }
  out.set_key_id(r.key_id());
  out.set_version(version);
  out.set_latest_version(key.active_version);
  out.set_offline_boots(allowed.offline_boots);
  return out;
}

absl::Status ReleaseService::RecordGrant(OfflineGrantRecord grant) {
  if (d_.grants == nullptr) return absl::OkStatus();
  grant.granted_at = d_.clock->Now();
  return d_.grants->RecordRelease(grant);
}

absl::Status ReleaseService::ApplyOfflineRevocation(ReleaseRecords& records,
                                                    PolicyDecision& allowed, Decision& decision) {
  if (allowed.offline_boots == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<OfflineRevocationRecord> revoked, records.revocation());
  if (revoked.has_value()) {
    absl::StrAppend(&decision.reason, ", offline grace ", allowed.offline_boots,
                    " boots revoked by operator (",
                    revoked->machine.empty() ? "every machine" : revoked->machine,
                    revoked->reason.empty() ? "" : ": ", revoked->reason, ")");
    allowed.offline_boots = 0;
    return absl::OkStatus();
  }
  absl::StrAppend(&decision.reason, ", offline grace ", allowed.offline_boots, " boots");
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ReleaseService::ReleasableVersion(
    const KeyRecord& key, uint32_t requested, const std::optional<KeyVersionRecord>& version) {
  if (!version.has_value()) {
    return absl::NotFoundError(absl::StrCat("key '", key.key_id, "' has no version ", requested));
  }
  if (version->retired) {
    return absl::PermissionDeniedError(absl::StrCat("key version ", version->version,
                                                    " is retired; re-enrol with version ",
                                                    key.active_version));
  }
  return version->version;
}

absl::StatusOr<std::shared_ptr<const v1::ReleasePolicy>> ReleaseService::Policy(
    const KeyRecord& key) {
  {
    kb::MutexLock lock(&policy_mu_);
    auto it = policies_.find(key.key_id);
    if (it != policies_.end() && it->second.first == key.policy_version) return it->second.second;
  }
  ASSIGN_OR_RETURN(v1::ReleasePolicy parsed, ParseReleasePolicy(key.policy_json));
  auto policy = std::make_shared<const v1::ReleasePolicy>(std::move(parsed));
  kb::MutexLock lock(&policy_mu_);
  policies_[key.key_id] = {key.policy_version, policy};
  return policy;
}

absl::StatusOr<v1::ReleaseKeyResponse> ReleaseService::ReleaseKey(
    const v1::ReleaseKeyRequest& request, absl::string_view peer) {
  const absl::Time start = d_.clock->Now();
  Decision decision{absl::StrCat("peer:", peer), PeerAddress(peer)};
  return Finish(request.dry_run() ? "release_test" : "release", request.key_id(), decision,
                Decide(request, decision), request.has_evidence() ? &request.evidence() : nullptr,
                start);
}

void ReleaseService::Report(absl::string_view action, const Decision& decision,
                            const absl::Status& result, const v1::Evidence* evidence,
                            absl::Time start) {
  if (d_.observer == nullptr) return;
  const bool error = IsBrokerSideError(result);
  const std::string named_check = FailedCheck(result);
  absl::string_view check = named_check.empty() ? decision.step : named_check;
  if (error) check = "store";
  if (result.ok()) check = "";
  d_.observer->Observe({.action = action,
                        .result = result.ok() ? "allowed" : (error ? "error" : "denied"),
                        .evidence = EvidenceKindName(evidence),
                        .check = check,
                        .latency = d_.clock->Now() - start});
}

absl::Status ReleaseService::Audit(absl::string_view action, const std::string& key_id,
                                   const Decision& decision, const absl::Status& result,
                                   const v1::Evidence* evidence) {
  // A key id that failed validation is recorded marked and cut; the log and audit escape it.
  const std::string recorded_key =
      ValidateName("key_id", key_id).ok()
          ? key_id
          : absl::StrCat("invalid:", key_id.substr(0, 64), key_id.size() > 64 ? "..." : "");
  if (!result.ok() && !decision.evidence_checked && d_.refusals != nullptr) {
    d_.refusals->Count(action, decision.source, result.message(), recorded_key);
    return absl::OkStatus();
  }
  AuditRecord record;
  record.time = d_.clock->Now();
  record.actor = decision.actor;
  record.action = std::string(action);
  record.key_id = recorded_key;
  record.key_version = decision.key_version;
  record.decision = result.ok() ? "allow" : "deny";
  record.reason = result.ok() ? decision.reason : std::string(result.message());
  record.policy_version = decision.policy_version;
  if (evidence != nullptr) {
    record.evidence_digest = HexEncode(Sha256(evidence->SerializeAsString()));
  }
  if (absl::Status s = d_.audit->Append(record); !s.ok()) {
    // A decision that cannot be audited is not made.
    LogError("audit append failed, refusing %s: %s", action, s.message());
    return absl::UnavailableError("audit log unavailable");
  }
  if (!result.ok()) {
    LogInfo("%s denied key=%s actor=%s: %s", action, record.key_id, record.actor, record.reason);
  } else {
    LogInfo("%s allowed key=%s v%d actor=%s (%s)", action, record.key_id, record.key_version,
            record.actor, record.reason);
  }
  return absl::OkStatus();
}

}  // namespace kb
