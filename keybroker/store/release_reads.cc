#include "keybroker/store/release_reads.h"

#include <string>

#include "common/status_macros.h"

namespace kb {

absl::StatusOr<ReleaseRecords> SeparateReleaseReads::Read(const ReleaseQuestion& question) {
  ReleaseRecords out;
  absl::StatusOr<Challenge> challenge =
      s_.challenges->Consume(question.challenge_id, question.key_id);
  if (absl::IsNotFound(challenge.status())) return out;
  RETURN_IF_ERROR(challenge.status());
  out.challenge = *std::move(challenge);
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
  if (question.version == 0 || question.version == out.key->active_version) {
    if (out.key->active_version != 0) out.version = KeyVersionRecord{out.key->active_version};
  } else {
    ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions,
                     s_.keys->ListVersions(question.key_id));
    for (const KeyVersionRecord& v : versions) {
      if (v.version == question.version) out.version = v;
    }
  }
  out.revocation = [revocations = s_.revocations, key = std::string(question.key_id),
                    m = out.machine]() -> absl::StatusOr<std::optional<OfflineRevocationRecord>> {
    if (revocations == nullptr) return std::nullopt;
    return revocations->Find(key, m);
  };
  const uint32_t wrapped = out.version.has_value() ? out.version->version : 0;
  out.material = [keys = s_.keys, key = std::string(question.key_id), wrapped] {
    return keys->GetKeyMaterial(key, wrapped);
  };
  return absl::OkStatus();
}

}  // namespace kb
