#include "keybroker/store/release_reads.h"

#include <string>

#include "common/status_macros.h"

namespace kb {

absl::StatusOr<ReleaseRecords> SeparateReleaseReads::Read(absl::string_view key_id,
                                                          absl::string_view machine,
                                                          uint32_t version) {
  ReleaseRecords out;
  ASSIGN_OR_RETURN(out.denied, denylist_->Find(machine));
  if (out.denied.has_value()) return out;
  absl::StatusOr<KeyRecord> key = keys_->GetKey(key_id);
  if (absl::IsNotFound(key.status())) return out;
  RETURN_IF_ERROR(key.status());
  out.key = *std::move(key);
  if (version == 0 || version == out.key->active_version) {
    if (out.key->active_version != 0) out.version = KeyVersionRecord{out.key->active_version};
  } else {
    ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions, keys_->ListVersions(key_id));
    for (const KeyVersionRecord& v : versions) {
      if (v.version == version) out.version = v;
    }
  }
  out.revocation =
      [revocations = revocations_, key = std::string(key_id),
       m = std::string(machine)]() -> absl::StatusOr<std::optional<OfflineRevocationRecord>> {
    if (revocations == nullptr) return std::nullopt;
    return revocations->Find(key, m);
  };
  const uint32_t wrapped = out.version.has_value() ? out.version->version : 0;
  out.material = [keys = keys_, key = std::string(key_id), wrapped] {
    return keys->GetKeyMaterial(key, wrapped);
  };
  return out;
}

}  // namespace kb
