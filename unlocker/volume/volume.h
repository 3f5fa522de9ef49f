#ifndef KB_UNLOCKER_VOLUME_VOLUME_H_
#define KB_UNLOCKER_VOLUME_VOLUME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secret_bytes.h"

namespace kb {

// A vTPM-sealed copy of the volume's key for offline boots (see Tpm::SealOffline). Not secret:
// only the TPM that sealed it can unseal it, and only within its PCR and counter policy.
struct OfflineSeal {
  std::string blob;       // marshaled TPM2B_PUBLIC || TPM2B_PRIVATE
  uint32_t nv_index = 0;  // the TPM's offline-boot counter
  uint64_t limit = 0;     // unseal while counter < limit
  std::vector<uint32_t> pcrs;
};

// The `keybroker` LUKS2 token: where to get the key of one keyslot. Stored in the LUKS2 header
// as JSON (see docs/token.md). Holds no secret.
struct KeybrokerToken {
  int token_id = -1;  // assigned by the volume; -1 before it is written
  int keyslot = -1;
  std::vector<std::string> endpoints;  // host:port of the broker's KeyRelease listener
  std::string ca_sha256;               // hex SHA-256 of the broker CA certificate (DER)
  std::string key_id;
  uint32_t key_version = 0;
  std::vector<uint32_t> pcrs;             // SHA-256 PCRs the guest quotes
  std::string transfer_key = "ecc-p256";  // "ecc-p256", "rsa-2048", "rsa-3072"
  std::string evidence = "tpm";           // "tpm", "azure", "snp", "tdx" (optional in JSON)
  // How the broker came to trust the AK: "" an operator registered it; "ek" it was proven
  // through the TPM's EK certificate, and is proven again when the broker no longer trusts it
  // (optional in JSON).
  std::string ak_trust;
  // Which vTPM wrote the token (enrolment, offline copy): 32 hex digits, the first half of the
  // SHA-256 of its AK's public area. "" unknown (no vTPM, or a token from before this field).
  // A vTPM whose state is not kept across boots has another AK, so another value.
  std::string vtpm;
  std::optional<OfflineSeal> offline;  // present when the policy granted offline boots
  // Whether the broker acknowledged the enrolment (KeyRelease.ConfirmEnrolment); false: to be
  // confirmed at the next unlock. nullopt: a token from before confirmations (never confirmed).
  std::optional<bool> confirmed;
};

struct KeyslotInfo {
  int keyslot = -1;
  std::string state;  // "active" or "inactive"
};

// One LUKS2 volume (block device or image file), opened for header operations.
// Not thread-safe.
//
// Errors: INVALID_ARGUMENT / DATA_LOSS for a volume that is not LUKS2 or whose header is
// corrupt, PERMISSION_DENIED for a key or passphrase that opens no keyslot, NOT_FOUND for a
// missing device, keyslot or token, INTERNAL with libcryptsetup's strerror otherwise.
class Volume {
 public:
  virtual ~Volume() = default;

  // Every `keybroker` token in the header.
  virtual absl::StatusOr<std::vector<KeybrokerToken>> ListTokens() = 0;
  virtual absl::StatusOr<std::vector<KeyslotInfo>> ListKeyslots() = 0;

  // Adds a keyslot for `new_key` (PBKDF2-SHA256, minimal iterations: the key is random),
  // authorised by `existing` (a passphrase or key that opens some keyslot). Returns the slot.
  virtual absl::StatusOr<int> AddKeyslot(const SecretBytes& existing,
                                         const SecretBytes& new_key) = 0;
  // Writes `token` (token_id -1: a new token) and assigns it to token.keyslot. Returns the id.
  virtual absl::StatusOr<int> WriteToken(const KeybrokerToken& token) = 0;
  virtual absl::Status RemoveToken(int token_id) = 0;
  virtual absl::Status RemoveKeyslot(int keyslot) = 0;

  // Checks that `key` opens `keyslot` without activating anything (no device-mapper needed).
  virtual absl::Status VerifyKey(int keyslot, const SecretBytes& key) = 0;
  // Checks that `passphrase` opens some keyslot (PERMISSION_DENIED when none), activating
  // nothing.
  virtual absl::Status VerifyPassphrase(const SecretBytes& passphrase) = 0;
  // Activates the volume as /dev/mapper/`name` with `key` via `keyslot`.
  virtual absl::Status Activate(const std::string& name, int keyslot, const SecretBytes& key) = 0;
};

}  // namespace kb

#endif  // KB_UNLOCKER_VOLUME_VOLUME_H_
