#include "keybroker/store/release_reads.h"

#include <string>

#include "common/status_macros.h"

namespace kb {

absl::StatusOr<ReleaseRecords> SeparateReleaseReads::Read(const ReleaseQuestion& question) {
  ReleaseRecords out;
  ASSIGN_OR_RETURN(out.challenge, SpendChallenge(*s_.challenges, question));
  if (!out.challenge.has_value()) return out;
  ASSIGN_OR_RETURN(out.machine, Machine(question));
  if (out.machine.empty()) return out;
  ASSIGN_OR_RETURN(out.denied, s_.denylist->Find(out.machine));
  if (out.denied.has_value()) return out;
  RETURN_IF_ERROR(ReadKey(question, out));
  return out;
}

absl::StatusOr<std::string> SeparateReleaseReads::Machine(const ReleaseQuestion& question) {
  if (question.attestation_key.empty() || s_.aks == nullptr) return std::string(question.machine);
  absl::StatusOr<RegisteredAk> ak = s_.aks->Lookup(question.attestation_key);
  if (absl::IsNotFound(ak.status())) return std::string();
  RETURN_IF_ERROR(ak.status());
  return std::move(ak->machine);
}

absl::Status SeparateReleaseReads::ReadKey(const ReleaseQuestion& question, ReleaseRecords& out) {
  absl::StatusOr<KeyRecord> key = s_.keys->GetKey(question.key_id);
  if (absl::IsNotFound(key.status())) return absl::OkStatus();
  RETURN_IF_ERROR(key.status());
  out.key = *std::move(key);
  ASSIGN_OR_RETURN(out.version, AskedVersion(question.version, *out.key, [&] {
                     return s_.keys->ListVersions(question.key_id);
                   }));
  out.revocation = RevocationReader(s_.revocations, question.key_id, out.machine);
  const uint32_t wrapped = out.version.has_value() ? out.version->version : 0;
  out.material = [keys = s_.keys, key = std::string(question.key_id), wrapped] {
    return keys->GetKeyMaterial(key, wrapped);
  };
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Challenge>> SpendChallenge(ChallengeStore& challenges,
                                                        const ReleaseQuestion& question) {
  absl::StatusOr<Challenge> challenge = challenges.Consume(question.challenge_id, question.key_id);
  if (absl::IsNotFound(challenge.status())) return std::nullopt;
  RETURN_IF_ERROR(challenge.status());
  return *std::move(challenge);
}

absl::StatusOr<std::optional<KeyVersionRecord>> AskedVersion(
    uint32_t asked, const KeyRecord& key,
    absl::FunctionRef<absl::StatusOr<std::vector<KeyVersionRecord>>()> versions) {
  if (asked == 0 || asked == key.active_version) {
    if (key.active_version == 0) return std::nullopt;
    return KeyVersionRecord{key.active_version};
  }
  ASSIGN_OR_RETURN(const std::vector<KeyVersionRecord> all, versions());
  for (const KeyVersionRecord& v : all) {
    if (v.version == asked) return v;
  }
  return std::nullopt;
}

absl::AnyInvocable<absl::StatusOr<std::optional<OfflineRevocationRecord>>()> RevocationReader(
    OfflineRevocations* revocations, absl::string_view key_id, absl::string_view machine) {
  return [revocations, key = std::string(key_id),
          m = std::string(machine)]() -> absl::StatusOr<std::optional<OfflineRevocationRecord>> {
    if (revocations == nullptr) return std::nullopt;
    return revocations->Find(key, m);
  };
}

}  // namespace kb
