#ifndef KB_UNLOCKER_ESYS_ESYS_ATTESTATION_H_
#define KB_UNLOCKER_ESYS_ESYS_ATTESTATION_H_

#include <tss2/tss2_esys.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/esys/esys_context.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// The attesting role of EsysTpm: the attestation key (AK), the per-release transfer key, and
// what they sign (Certify, Quote) and unwrap. Transfer keys are primary keys in the NULL
// hierarchy with a random `unique` field: fresh per call, gone at the next TPM reset, and
// flushed when replaced or when this object is destroyed. Not thread-safe.
class EsysAttestation {
 public:
  explicit EsysAttestation(EsysContext* ctx) : ctx_(*ctx) {}
  ~EsysAttestation();
  EsysAttestation(const EsysAttestation&) = delete;
  EsysAttestation& operator=(const EsysAttestation&) = delete;

  // Loads the AK at the persistent `ak_handle`, or creates and persists one there (ECC P-256,
  // restricted signing, endorsement hierarchy) when `create_if_missing`. INVALID_ARGUMENT for a
  // non-persistent handle; FAILED_PRECONDITION for an empty handle (without
  // `create_if_missing`) or an object that is not a restricted signing key.
  absl::Status UseAttestationKey(uint32_t ak_handle, bool create_if_missing);
  ESYS_TR ak() const { return ak_; }

  // As kb::Tpm (esys_attestation_ops.cc for Certify, Quote and Unwrap).
  absl::StatusOr<std::string> AttestationKeyPublic();
  absl::StatusOr<std::string> CreateTransferKey(TransferKeyType type);
  absl::StatusOr<v1::TpmTransferKey> CertifyTransferKey(absl::string_view binding);
  absl::StatusOr<v1::TpmQuoteEvidence> Quote(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs);
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped);

 private:
  // NOT_FOUND when nothing is at `ak_handle`.
  absl::Status LoadPersistentAk(uint32_t ak_handle);
  absl::Status CreatePersistentAk(uint32_t ak_handle);
  absl::Status SetAkPublic(const TPMT_PUBLIC& pub);
  void FlushTransferKey();
  absl::StatusOr<std::string> QuoteOnce(absl::string_view binding,
                                        const TPML_PCR_SELECTION& selection,
                                        v1::TpmQuoteEvidence* evidence);
  absl::Status ReadPcrs(const TPML_PCR_SELECTION& selection, v1::TpmQuoteEvidence* evidence);
  absl::StatusOr<SecretBytes> EcdhKek(const v1::WrappedKey& wrapped);
  absl::StatusOr<SecretBytes> RsaKek(const v1::WrappedKey& wrapped);

  EsysContext& ctx_;
  ESYS_TR ak_ = ESYS_TR_NONE;
  std::string ak_public_;        // marshaled TPMT_PUBLIC
  TPMT_SIG_SCHEME ak_scheme_{};  // inScheme for Quote/Certify (NULL: the key's own scheme)
  ESYS_TR transfer_ = ESYS_TR_NONE;
  TPMI_ALG_PUBLIC transfer_type_ = TPM2_ALG_NULL;
  std::string transfer_public_;  // marshaled TPMT_PUBLIC as the TPM returned it
};

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_ATTESTATION_H_
