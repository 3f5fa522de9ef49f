#ifndef KB_TESTS_FAKES_SOFTWARE_TPM_H_
#define KB_TESTS_FAKES_SOFTWARE_TPM_H_

#include <tss2/tss2_tpm2_types.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "common/openssl_util.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// A TPM in software for unit tests and benchmarks: an ECC P-256 AK (restricted signing key)
// that produces genuine, correctly marshaled and signed TPMS_ATTEST quotes and certifications,
// settable SHA-256 PCRs, and transfer keys held in OpenSSL. Not thread-safe.
class SoftwareTpm final : public Tpm {
 public:
  static absl::StatusOr<std::unique_ptr<SoftwareTpm>> Create();

  // Sets PCR `index` (SHA-256 bank) to `digest` (32 bytes).
  void SetPcr(uint32_t index, absl::string_view digest);
  // Models PCR_Extend: pcr = SHA-256(pcr || digest).
  void ExtendPcr(uint32_t index, absl::string_view digest);

  absl::StatusOr<std::string> AttestationKeyPublic() override;
  absl::StatusOr<std::string> CreateTransferKey(TransferKeyType type) override;
  absl::StatusOr<v1::TpmTransferKey> CertifyTransferKey(absl::string_view binding) override;
  absl::StatusOr<v1::TpmQuoteEvidence> Quote(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;
  // Offline sealing modelled in software: an in-memory monotonic counter, the blob bound to the
  // current PCR values through AES-GCM associated data.
  absl::StatusOr<SealedKey> SealOffline(const SecretBytes& key, const std::vector<uint32_t>& pcrs,
                                        uint32_t boots) override;
  absl::StatusOr<SecretBytes> UnsealOffline(const SealedKey& sealed, uint64_t* remaining) override;

  // Signs arbitrary TPMS_ATTEST bytes with the AK (to forge-test the verifier's other checks).
  absl::StatusOr<std::string> SignWithAk(absl::string_view attest);

 private:
  SoftwareTpm() = default;
  absl::StatusOr<std::string> SignAttest(const TPMS_ATTEST& attest, std::string* marshaled);
  TPMS_ATTEST NewAttest(TPMI_ST_ATTEST type, absl::string_view binding);

  EvpPkeyPtr ak_;
  std::string ak_public_;
  std::string ak_name_;
  EvpPkeyPtr transfer_;
  std::string transfer_public_;
  std::string PcrBinding(const std::vector<uint32_t>& pcrs, uint64_t limit) const;

  std::array<std::string, 24> pcrs_;
  SecretBytes seal_key_;
  uint64_t offline_counter_ = 1;
  uint64_t clock_ = 1000;
};

}  // namespace kb

#endif  // KB_TESTS_FAKES_SOFTWARE_TPM_H_
