#ifndef KB_KEYBROKER_STORE_KEY_STORE_H_
#define KB_KEYBROKER_STORE_KEY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/secret_bytes.h"

namespace kb {

// Metadata of a key; never holds key bytes.
struct KeyRecord {
  std::string key_id;
  uint32_t latest_version = 0;
  uint32_t size_bytes = 0;
  bool disabled = false;
  std::string description;
  absl::Time created_at;
  uint64_t policy_version = 0;  // 0: no policy
  std::string policy_json;
  uint32_t active_version = 0;  // newest non-retired version: what a release wraps (0: none)
};

// One stored version of a key (metadata only).
struct KeyVersionRecord {
  uint32_t version = 0;
  bool retired = false;
  absl::Time created_at;
};

// Versioned disk keys, stored encrypted under the key-encryption key. Thread-safe.
// Errors: NOT_FOUND for an unknown key or version, ALREADY_EXISTS for a taken key id,
// UNAVAILABLE when the backend is down, DATA_LOSS when stored key material fails to decrypt.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Creates `record.key_id` with version 1 holding `material`.
  virtual absl::Status CreateKey(const KeyRecord& record, const SecretBytes& material) = 0;
  virtual absl::StatusOr<KeyRecord> GetKey(absl::string_view key_id) = 0;
  virtual absl::StatusOr<std::vector<KeyRecord>> ListKeys() = 0;
  // The decrypted key bytes of `key_id` at `version`.
  virtual absl::StatusOr<SecretBytes> GetKeyMaterial(absl::string_view key_id,
                                                     uint32_t version) = 0;
  // Stores a validated policy as the key's next policy version and returns that version. With
  // `expected_version`, only while the key's policy version is still that one: the comparison
  // and the store are one conditional write in the database, so two operators on two replicas
  // cannot lose an edit (FAILED_PRECONDITION naming both versions otherwise).
  virtual absl::StatusOr<uint64_t> SetPolicy(absl::string_view key_id,
                                             absl::string_view policy_json,
                                             std::optional<uint64_t> expected_version) = 0;
  virtual absl::Status SetDisabled(absl::string_view key_id, bool disabled) = 0;
  // Stores `material` as `version`, which must be the key's latest_version + 1, and makes it
  // the latest. ABORTED if the latest version moved meanwhile (a concurrent rotation).
  virtual absl::Status AddVersion(absl::string_view key_id, uint32_t version,
                                  const SecretBytes& material, absl::Time now) = 0;
  // Marks a version retired (idempotent).
  virtual absl::Status RetireVersion(absl::string_view key_id, uint32_t version) = 0;
  // Every version of the key, oldest first.
  virtual absl::StatusOr<std::vector<KeyVersionRecord>> ListVersions(absl::string_view key_id) = 0;
};

// The errors every KeyStore gives: NOT_FOUND "no key 'id'", and FAILED_PRECONDITION for a
// SetPolicy whose expected_version is no longer the key's policy version.
absl::Status KeyNotFoundError(absl::string_view key_id);
absl::Status PolicyChangedError(absl::string_view key_id, uint64_t expected, uint64_t now);
// Whether a SetPolicy `expected_version` can match no stored version (which are int64 in the
// databases): such an expectation fails as a stale one does.
inline bool NoVersionCanMatch(std::optional<uint64_t> expected_version) {
  return expected_version && *expected_version > uint64_t{INT64_MAX};
}

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_KEY_STORE_H_
