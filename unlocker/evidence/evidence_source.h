#ifndef KB_UNLOCKER_EVIDENCE_EVIDENCE_SOURCE_H_
#define KB_UNLOCKER_EVIDENCE_EVIDENCE_SOURCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "kb/v1/evidence.pb.h"
#include "kb/v1/release.pb.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// What a release request carries besides ids: evidence binding the transfer key.
struct AttestedTransferKey {
  v1::Evidence evidence;
  v1::TransferKey transfer_key;
};

// Where the guest's attestation evidence comes from (a TPM quote, an Azure vTPM with its HCL
// report, an SEV-SNP report, a TDX quote), together with the transfer key that evidence binds.
// One release at a time: NewTransferKey(), then Attest() with the binding computed over the
// bytes it returned, then Unwrap(). Not thread-safe.
class EvidenceSource {
 public:
  virtual ~EvidenceSource() = default;

  // Short name for messages ("TPM", "Azure vTPM", "SEV-SNP", "TDX").
  virtual absl::string_view Name() const = 0;

  // Makes a fresh transfer key (replacing any earlier one) and returns the bytes the binding
  // hashes: the marshaled TPMT_PUBLIC of a TPM key, or the DER SubjectPublicKeyInfo of a key in
  // TEE memory. INVALID_ARGUMENT if `type` is not supported by this source.
  virtual absl::StatusOr<std::string> NewTransferKey(TransferKeyType type) = 0;

  // Evidence with `binding` (32 bytes) as its user data, and the TransferKey message for the
  // current key. FAILED_PRECONDITION without NewTransferKey(); UNAVAILABLE when the device is
  // missing; other codes as the device reports them.
  virtual absl::StatusOr<AttestedTransferKey> Attest(absl::string_view binding,
                                                     const std::vector<uint32_t>& pcrs) = 0;

  // Unwraps a key the broker wrapped to the current transfer key. INVALID_ARGUMENT if it does
  // not match the scheme or fails its integrity check.
  virtual absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) = 0;
};

// The source for an evidence kind name ("tpm", "azure", "snp", "tdx"). The source belongs to
// whoever made the function and outlives the flow. INVALID_ARGUMENT for an unknown kind.
using EvidenceSourceFor = std::function<absl::StatusOr<EvidenceSource*>(const std::string& kind)>;

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_EVIDENCE_SOURCE_H_
