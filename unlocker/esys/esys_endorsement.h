#ifndef KB_UNLOCKER_ESYS_ESYS_ENDORSEMENT_H_
#define KB_UNLOCKER_ESYS_ESYS_ENDORSEMENT_H_

#include <tss2/tss2_esys.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/esys/esys_attestation.h"
#include "unlocker/esys/esys_context.h"
#include "unlocker/esys/esys_nv.h"
#include "unlocker/tpm/tpm_endorsement.h"

namespace kb {

// The endorsement role of EsysTpm: the EK certificate (from NV) and TPM2_ActivateCredential
// of a credential made for the AK (kb::TpmEndorsement). The EK is the persistent one at
// 0x81010001 (RSA) / 0x81010002 (ECC) when it is there, else a primary key from the default
// template. Not thread-safe.
class EsysEndorsement final : public TpmEndorsement {
 public:
  EsysEndorsement(EsysContext* ctx, EsysNv* nv, const EsysAttestation* attestation)
      : ctx_(*ctx), nv_(*nv), attestation_(*attestation) {}

  absl::StatusOr<EkCertificate> ReadEkCertificate() override;
  absl::StatusOr<SecretBytes> ActivateCredential(EkType type, absl::string_view credential_blob,
                                                 absl::string_view encrypted_secret) override;

 private:
  absl::StatusOr<ESYS_TR> LoadEk(EkType type, bool* transient);
  absl::StatusOr<ESYS_TR> EkPolicySession();

  EsysContext& ctx_;
  EsysNv& nv_;
  const EsysAttestation& attestation_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_ENDORSEMENT_H_
