#ifndef KB_UNLOCKER_TPM_TPM_H_
#define KB_UNLOCKER_TPM_TPM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "kb/v1/evidence.pb.h"
#include "kb/v1/release.pb.h"

namespace kb {

enum class TransferKeyType { kEccP256, kRsa2048, kRsa3072 };

// A disk key sealed in the TPM for offline boots (no secret: only this TPM can unseal it, and
// only while the PCRs hold their sealing-time values and its NV counter is below `limit`).
struct SealedKey {
  std::string blob;            // marshaled TPM2B_PUBLIC || TPM2B_PRIVATE of the sealed object
  uint32_t nv_index = 0;       // the monotonic NV counter that counts offline boots
  uint64_t limit = 0;          // unseal allowed while the counter (after increment) < limit
  std::vector<uint32_t> pcrs;  // SHA-256 PCRs the seal is bound to
};

// The guest's TPM as the unlocker uses it: an attestation key (AK) that quotes PCRs, and a
// per-release transfer key that never leaves the TPM. Not thread-safe: one flow at a time.
//
// Errors: UNAVAILABLE when the TPM cannot be reached (no device, swtpm down), INTERNAL or
// FAILED_PRECONDITION with the decoded TSS2 return code otherwise.
class Tpm {
 public:
  virtual ~Tpm() = default;

  // The AK's marshaled TPMT_PUBLIC (what an operator registers with the broker).
  virtual absl::StatusOr<std::string> AttestationKeyPublic() = 0;

  // Creates a fresh decrypt-only transfer key (fixedTPM | fixedParent | sensitiveDataOrigin |
  // userWithAuth | decrypt) and returns its marshaled TPMT_PUBLIC. Replaces any earlier one.
  virtual absl::StatusOr<std::string> CreateTransferKey(TransferKeyType type) = 0;

  // TPM2_Certify of the current transfer key by the AK with qualifyingData = `binding`.
  // FAILED_PRECONDITION if no transfer key was created.
  virtual absl::StatusOr<v1::TpmTransferKey> CertifyTransferKey(absl::string_view binding) = 0;

  // TPM2_Quote by the AK over the SHA-256 bank PCRs `pcrs` with qualifyingData = `binding`,
  // plus the PCR values read from the TPM (PCR_Read, SHA-256 bank).
  virtual absl::StatusOr<v1::TpmQuoteEvidence> Quote(absl::string_view binding,
                                                     const std::vector<uint32_t>& pcrs) = 0;

  // Unwraps a key the broker wrapped to the current transfer key (ECDH_ZGen or RSA_Decrypt in
  // the TPM, then AES-KWP). INVALID_ARGUMENT if the wrapped key does not match the scheme or
  // fails its integrity check.
  virtual absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) = 0;

  // Seals `key` under the TPM's storage key with a policy of PolicyPCR(`pcrs`, current values)
  // AND PolicyNV(offline counter < current + `boots` + 1): at most `boots` offline unseals.
  virtual absl::StatusOr<SealedKey> SealOffline(const SecretBytes& key,
                                                const std::vector<uint32_t>& pcrs,
                                                uint32_t boots) = 0;

  // Consumes one offline boot (increments the NV counter, even if unsealing then fails) and
  // unseals. RESOURCE_EXHAUSTED when the allowance is used up, FAILED_PRECONDITION when the PCRs
  // changed since sealing, INVALID_ARGUMENT for a malformed blob. `remaining` gets the offline
  // boots left after this one.
  virtual absl::StatusOr<SecretBytes> UnsealOffline(const SealedKey& sealed,
                                                    uint64_t* remaining) = 0;
};

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_TPM_H_
