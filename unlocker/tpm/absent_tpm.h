#ifndef KB_UNLOCKER_TPM_ABSENT_TPM_H_
#define KB_UNLOCKER_TPM_ABSENT_TPM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// The Tpm of a machine that has none: a bare SEV-SNP or TDX guest without a vTPM, whose evidence
// and transfer key live in TEE memory. kbunlock hands it to the flows in place of an EsysTpm so
// they run unchanged; every operation fails with FAILED_PRECONDITION "no TPM on this machine:
// <what> needs a vTPM". The flows treat a failed SealOffline as a reported, non-fatal condition
// (no offline copy is kept), so an online unlock still succeeds. Thread-safe (stateless).
class AbsentTpm final : public Tpm {
 public:
  absl::StatusOr<std::string> AttestationKeyPublic() override;
  absl::StatusOr<std::string> CreateTransferKey(TransferKeyType type) override;
  absl::StatusOr<v1::TpmTransferKey> CertifyTransferKey(absl::string_view binding) override;
  absl::StatusOr<v1::TpmQuoteEvidence> Quote(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;
  absl::StatusOr<SealedKey> SealOffline(const SecretBytes& key, const std::vector<uint32_t>& pcrs,
                                        uint32_t boots) override;
  absl::StatusOr<SecretBytes> UnsealOffline(const SealedKey& sealed, uint64_t* remaining) override;
};

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_ABSENT_TPM_H_
