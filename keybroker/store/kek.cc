#include "keybroker/store/kek.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace kb {

absl::StatusOr<std::unique_ptr<AesKek>> AesKek::Create(SecretBytes key, std::string description) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(description, ": must hold exactly 32 bytes, has ", key.size()));
  }
  // HKDF output under a fixed label: identifies the key without helping to find it.
  ASSIGN_OR_RETURN(SecretBytes id, HkdfSha256(key, "", "kb-kek-fingerprint-v1", 8));
  std::string fingerprint = HexEncode(id.view());
  return std::unique_ptr<AesKek>(
      new AesKek(std::move(key), std::move(description), std::move(fingerprint)));
}

absl::StatusOr<std::string> AesKek::Seal(const SecretBytes& plaintext, absl::string_view aad) {
  return AesGcmSeal(key_, plaintext, aad);
}

absl::StatusOr<SecretBytes> AesKek::Open(absl::string_view sealed, absl::string_view aad) {
  return AesGcmOpen(key_, sealed, aad);
}

}  // namespace kb
