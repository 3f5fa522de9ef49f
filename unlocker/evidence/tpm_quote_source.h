#ifndef KB_UNLOCKER_EVIDENCE_TPM_QUOTE_SOURCE_H_
#define KB_UNLOCKER_EVIDENCE_TPM_QUOTE_SOURCE_H_

#include "unlocker/evidence/evidence_source.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// Evidence kind "tpm": a TPM2_Quote by the registered AK (extraData = binding) and a TPM
// transfer key certified by that AK. Not thread-safe.
class TpmQuoteSource final : public EvidenceSource {
 public:
  explicit TpmQuoteSource(Tpm& tpm) : tpm_(tpm) {}  // `tpm` must outlive this

  absl::string_view Name() const override { return "TPM"; }
  absl::StatusOr<std::string> NewTransferKey(TransferKeyType type) override;
  absl::StatusOr<AttestedTransferKey> Attest(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;

 private:
  Tpm& tpm_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_TPM_QUOTE_SOURCE_H_
