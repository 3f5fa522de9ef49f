#ifndef KB_KEYBROKER_KEK_PKCS11_KEK_H_
#define KB_KEYBROKER_KEK_PKCS11_KEK_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/sync/mutex.h"
#include "keybroker/kek/pkcs11_token.h"
#include "keybroker/store/kek.h"

namespace kb {

// Where a KEK lives in a PKCS#11 token (BrokerConfig.kek.pkcs11 without the PIN).
struct Pkcs11KekLocation {
  std::string module;
  std::string token_label;
  std::string key_label;
};

// A KEK that is an AES-256 key inside a PKCS#11 token: sealing and opening run in the token
// (CKM_AES_GCM, a random 96-bit IV, 128-bit tag, the same layout and AAD as AesKek), and the key
// never leaves it. Described as "pkcs11 token 'T' key 'K' (module M)"; the fingerprint is the
// key's CKA_CHECK_VALUE when the token gives one. Thread-safe.
class Pkcs11Kek final : public Kek {
 public:
  // Opens the token and finds the key. NOT_FOUND when no secret key has the label;
  // FAILED_PRECONDITION when several do, or when the key is not an AES-256 key that is
  // sensitive, not extractable and allowed to encrypt and decrypt.
  static absl::StatusOr<std::unique_ptr<Pkcs11Kek>> Open(const Pkcs11KekLocation& where,
                                                         SecretBytes pin);
  // Generates the key in the token (CKM_AES_KEY_GEN, 32 bytes, token object, private,
  // sensitive, never extractable). ALREADY_EXISTS when a key has the label.
  static absl::Status Generate(const Pkcs11KekLocation& where, SecretBytes pin);

  absl::StatusOr<std::string> Seal(const SecretBytes& plaintext, absl::string_view aad) override;
  absl::StatusOr<SecretBytes> Open(absl::string_view sealed, absl::string_view aad) override;
  std::string Describe() const override { return description_; }
  std::string Fingerprint() const override { return fingerprint_; }

 private:
  Pkcs11Kek(std::unique_ptr<Pkcs11Token> token, std::string key_label, CK_OBJECT_HANDLE key,
            std::string description, std::string fingerprint)
      : token_(std::move(token)),
        key_label_(std::move(key_label)),
        description_(std::move(description)),
        fingerprint_(std::move(fingerprint)),
        key_(key) {}
  // Runs `op` on a pooled session and returns what it returned; once more on a new session
  // (and after a new key lookup) when the token lost the session or the key handle. A session
  // on which `op` failed is closed, not pooled.
  absl::StatusOr<CK_RV> Run(absl::FunctionRef<CK_RV(CK_SESSION_HANDLE, CK_OBJECT_HANDLE)> op);

  const std::unique_ptr<Pkcs11Token> token_;
  const std::string key_label_;
  const std::string description_;
  const std::string fingerprint_;
  kb::Mutex mu_;
  CK_OBJECT_HANDLE key_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kb

#endif  // KB_KEYBROKER_KEK_PKCS11_KEK_H_
