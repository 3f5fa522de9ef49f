#ifndef KB_UNLOCKER_EVIDENCE_SOFTWARE_TRANSFER_KEY_H_
#define KB_UNLOCKER_EVIDENCE_SOFTWARE_TRANSFER_KEY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/openssl_util.h"
#include "common/secret_bytes.h"
#include "kb/v1/release.pb.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// A NIST P-256 transfer key generated in guest memory, for TEE evidence (SEV-SNP, TDX) where
// the memory is encrypted and the key is bound only through the report data
// (TransferKey.spki_der). The private key lives in OpenSSL's EVP_PKEY (cleansed on free).
// Thread-compatible.
class SoftwareTransferKey {
 public:
  // A fresh key. INTERNAL if OpenSSL fails.
  static absl::StatusOr<std::unique_ptr<SoftwareTransferKey>> Generate();

  // The DER SubjectPublicKeyInfo (what the binding hashes and TransferKey.spki_der carries).
  const std::string& spki_der() const { return spki_der_; }

  // Unwraps a key wrapped with WrapToSpkiTransferKey to this key. INVALID_ARGUMENT if it was
  // wrapped to another key or with another scheme.
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) const;

 private:
  SoftwareTransferKey(EvpPkeyPtr key, std::string spki_der)
      : key_(std::move(key)), spki_der_(std::move(spki_der)) {}
  EvpPkeyPtr key_;
  std::string spki_der_;
};

// The transfer key of the TEE sources: INVALID_ARGUMENT unless `type` is kEccP256.
absl::StatusOr<std::unique_ptr<SoftwareTransferKey>> NewSoftwareTransferKey(TransferKeyType type);

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_SOFTWARE_TRANSFER_KEY_H_
