#ifndef KB_UNLOCKER_TPM_TPM_ENDORSEMENT_H_
#define KB_UNLOCKER_TPM_TPM_ENDORSEMENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"

namespace kb {

// The endorsement keys kbunlock can prove its AK with (TCG EK Credential Profile, low range).
enum class EkType { kRsa2048, kEccP256 };

struct EkCertificate {
  EkType type = EkType::kRsa2048;
  std::string der;  // the X.509 certificate, without any NV padding
};

// The TPM's endorsement key as the AK activation uses it (TPM2_ActivateCredential, TPM 2.0
// Part 1 §24). Not thread-safe.
//
// Errors: UNAVAILABLE when the TPM cannot be reached, FAILED_PRECONDITION or INTERNAL with the
// decoded TSS2 return code otherwise.
class TpmEndorsement {
 public:
  virtual ~TpmEndorsement() = default;

  // The EK certificate the manufacturer provisioned: RSA 2048 (NV 0x01c00002) if present, else
  // ECC NIST P-256 (NV 0x01c0000a). NOT_FOUND if neither index is defined; INVALID_ARGUMENT if
  // the index does not hold a DER certificate.
  virtual absl::StatusOr<EkCertificate> ReadEkCertificate() = 0;

  // TPM2_ActivateCredential with the attestation key as activateHandle and the EK of `type`
  // (from the default TCG template) as keyHandle: returns the credential the broker protected
  // with TPM2_MakeCredential. `credential_blob` and `encrypted_secret` are the marshaled
  // TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET. INVALID_ARGUMENT if they are malformed;
  // FAILED_PRECONDITION (TPM_RC_INTEGRITY, ...) if they were not made for this EK and AK.
  virtual absl::StatusOr<SecretBytes> ActivateCredential(EkType type,
                                                         absl::string_view credential_blob,
                                                         absl::string_view encrypted_secret) = 0;
};

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_TPM_ENDORSEMENT_H_
