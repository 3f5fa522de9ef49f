#include "unlocker/evidence/software_transfer_key.h"

#include <openssl/x509.h>

#include "common/wrap/key_wrap.h"

namespace kb {

absl::StatusOr<std::unique_ptr<SoftwareTransferKey>> SoftwareTransferKey::Generate() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpenSslError("P-256 transfer key generation");
  const int len = i2d_PUBKEY(key.get(), nullptr);
  if (len <= 0) return OpenSslError("transfer key SubjectPublicKeyInfo");
  std::string spki(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(spki.data());
  if (i2d_PUBKEY(key.get(), &p) != len) return OpenSslError("transfer key SubjectPublicKeyInfo");
  return std::unique_ptr<SoftwareTransferKey>(
      new SoftwareTransferKey(std::move(key), std::move(spki)));
}

absl::StatusOr<SecretBytes> SoftwareTransferKey::Unwrap(const v1::WrappedKey& wrapped) const {
  return UnwrapWithSpkiTransferKey(key_.get(), spki_der_, wrapped);
}

absl::StatusOr<std::unique_ptr<SoftwareTransferKey>> NewSoftwareTransferKey(TransferKeyType type) {
  if (type != TransferKeyType::kEccP256) {
    return absl::InvalidArgumentError("TEE evidence needs an ecc-p256 transfer key");
  }
  return SoftwareTransferKey::Generate();
}

}  // namespace kb
