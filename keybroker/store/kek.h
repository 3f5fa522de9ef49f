#ifndef KB_KEYBROKER_STORE_KEK_H_
#define KB_KEYBROKER_STORE_KEK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"

namespace kb {

// The key-encryption key (KEK) that key versions are sealed under in the store. Implementations:
// AesKek (an AES-256 key in memory: the kek_file) and, for an HSM, one that never holds the key.
// Thread-safe.
class Kek {
 public:
  virtual ~Kek() = default;
  // Authenticated encryption of `plaintext` bound to `aad` (AES-256-GCM).
  virtual absl::StatusOr<std::string> Seal(const SecretBytes& plaintext, absl::string_view aad) = 0;
  // DATA_LOSS when `sealed` does not open under this KEK with `aad` (wrong KEK or tampering).
  virtual absl::StatusOr<SecretBytes> Open(absl::string_view sealed, absl::string_view aad) = 0;
  // Which KEK this is, for messages: "kek_file /etc/keybroker/kek". Never secret.
  virtual std::string Describe() const = 0;
  // A short public fingerprint that tells two KEKs apart (16 hex digits; empty when the KEK
  // cannot compute one). Reveals nothing usable about the key.
  virtual std::string Fingerprint() const = 0;
};

// The KEKs a key store is given: `current` seals everything it writes; `previous` (from
// BrokerConfig.previous_keks) still open key versions sealed before a KEK rotation, until
// `keybrokerctl kek rotate` has re-sealed them under `current`.
struct KekSet {
  std::unique_ptr<Kek> current;
  std::vector<std::unique_ptr<Kek>> previous;
};

// A KEK held in memory (a 32-byte AES-256 key).
class AesKek final : public Kek {
 public:
  // INVALID_ARGUMENT unless `key` is 32 bytes.
  static absl::StatusOr<std::unique_ptr<AesKek>> Create(SecretBytes key, std::string description);

  absl::StatusOr<std::string> Seal(const SecretBytes& plaintext, absl::string_view aad) override;
  absl::StatusOr<SecretBytes> Open(absl::string_view sealed, absl::string_view aad) override;
  std::string Describe() const override { return description_; }
  std::string Fingerprint() const override { return fingerprint_; }

 private:
  AesKek(SecretBytes key, std::string description, std::string fingerprint)
      : key_(std::move(key)),
        description_(std::move(description)),
        fingerprint_(std::move(fingerprint)) {}
  const SecretBytes key_;
  const std::string description_;
  const std::string fingerprint_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_KEK_H_
