#include "unlocker/evidence/tpm_quote_source.h"

#include "common/status_macros.h"

namespace kb {

absl::StatusOr<std::string> TpmQuoteSource::NewTransferKey(TransferKeyType type) {
  return tpm_.CreateTransferKey(type);
}

absl::StatusOr<AttestedTransferKey> TpmQuoteSource::Attest(absl::string_view binding,
                                                           const std::vector<uint32_t>& pcrs) {
  AttestedTransferKey out;
  ASSIGN_OR_RETURN(*out.transfer_key.mutable_tpm(), tpm_.CertifyTransferKey(binding));
  ASSIGN_OR_RETURN(*out.evidence.mutable_tpm_quote(), tpm_.Quote(binding, pcrs));
  return out;
}

absl::StatusOr<SecretBytes> TpmQuoteSource::Unwrap(const v1::WrappedKey& wrapped) {
  return tpm_.Unwrap(wrapped);
}

}  // namespace kb
