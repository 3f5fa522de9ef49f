#include "unlocker/tpm/absent_tpm.h"

#include "absl/strings/str_cat.h"

namespace kb {
namespace {

absl::Status Missing(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("no TPM on this machine: ", what, " needs a vTPM"));
}

}  // namespace

absl::StatusOr<std::string> AbsentTpm::AttestationKeyPublic() {
  return Missing("an attestation key");
}

absl::StatusOr<std::string> AbsentTpm::CreateTransferKey(TransferKeyType) {
  return Missing("a TPM transfer key");
}

absl::StatusOr<v1::TpmTransferKey> AbsentTpm::CertifyTransferKey(absl::string_view) {
  return Missing("certifying a transfer key");
}

absl::StatusOr<v1::TpmQuoteEvidence> AbsentTpm::Quote(absl::string_view,
                                                      const std::vector<uint32_t>&) {
  return Missing("TPM quote evidence");
}

absl::StatusOr<SecretBytes> AbsentTpm::Unwrap(const v1::WrappedKey&) {
  return Missing("unwrapping with a TPM transfer key");
}

absl::StatusOr<SealedKey> AbsentTpm::SealOffline(const SecretBytes&, const std::vector<uint32_t>&,
                                                 uint32_t) {
  return absl::FailedPreconditionError(
      "no TPM on this machine: offline grace needs a vTPM (no sealed copy is kept; every boot "
      "needs a broker)");
}

absl::StatusOr<SecretBytes> AbsentTpm::UnsealOffline(const SealedKey&, uint64_t* remaining) {
  if (remaining != nullptr) *remaining = 0;
  return Missing("the offline copy");
}

}  // namespace kb
