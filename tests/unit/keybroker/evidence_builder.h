#ifndef KB_TESTS_UNIT_KEYBROKER_EVIDENCE_BUILDER_H_
#define KB_TESTS_UNIT_KEYBROKER_EVIDENCE_BUILDER_H_

#include <string>
#include <vector>

#include "common/binding.h"
#include "kb/v1/release.pb.h"
#include "tests/fakes/software_tpm.h"

namespace kb {

// Builds a ReleaseKeyRequest the way kbunlock does, with a software TPM.
inline absl::StatusOr<v1::ReleaseKeyRequest> BuildRequest(
    Tpm& tpm, const std::string& challenge_id, const std::string& nonce, const std::string& key_id,
    std::vector<uint32_t> pcrs = {0, 7}, TransferKeyType type = TransferKeyType::kEccP256) {
  auto pub = tpm.CreateTransferKey(type);
  if (!pub.ok()) return pub.status();
  const std::string binding = ComputeBinding(nonce, key_id, *pub);
  auto certified = tpm.CertifyTransferKey(binding);
  if (!certified.ok()) return certified.status();
  auto quote = tpm.Quote(binding, pcrs);
  if (!quote.ok()) return quote.status();
  v1::ReleaseKeyRequest r;
  r.set_challenge_id(challenge_id);
  r.set_key_id(key_id);
  *r.mutable_evidence()->mutable_tpm_quote() = *quote;
  *r.mutable_transfer_key()->mutable_tpm() = *certified;
  return r;
}

// Builds a ConfirmEnrolmentRequest the way kbunlock does (binding: ComputeConfirmationBinding).
inline absl::StatusOr<v1::ConfirmEnrolmentRequest> BuildConfirmation(
    Tpm& tpm, const std::string& challenge_id, const std::string& nonce, const std::string& key_id,
    uint32_t version, std::vector<uint32_t> pcrs = {0, 7}) {
  auto pub = tpm.CreateTransferKey(TransferKeyType::kEccP256);
  if (!pub.ok()) return pub.status();
  const std::string binding = ComputeConfirmationBinding(nonce, key_id, version, *pub);
  auto certified = tpm.CertifyTransferKey(binding);
  if (!certified.ok()) return certified.status();
  auto quote = tpm.Quote(binding, pcrs);
  if (!quote.ok()) return quote.status();
  v1::ConfirmEnrolmentRequest r;
  r.set_challenge_id(challenge_id);
  r.set_key_id(key_id);
  r.set_version(version);
  *r.mutable_evidence()->mutable_tpm_quote() = *quote;
  *r.mutable_transfer_key()->mutable_tpm() = *certified;
  return r;
}

}  // namespace kb

#endif  // KB_TESTS_UNIT_KEYBROKER_EVIDENCE_BUILDER_H_
