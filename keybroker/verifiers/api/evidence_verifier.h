#ifndef KB_KEYBROKER_VERIFIERS_API_EVIDENCE_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_API_EVIDENCE_VERIFIER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kb/v1/evidence.pb.h"
#include "kb/v1/release.pb.h"
#include "keybroker/verifiers/api/check.h"
#include "keybroker/verifiers/api/claims.h"

namespace kb {

// Authenticity and freshness of one kind of evidence ("is this genuine, fresh, and is the
// transfer key bound to it?"), separate from appraisal. Implementations are thread-safe.
class EvidenceVerifier {
 public:
  virtual ~EvidenceVerifier() = default;
  // Verifies `evidence` and that it carries `expected_binding` and certifies `transfer_key`.
  // Every rejection names the failing check: INVALID_ARGUMENT for malformed input (check
  // "parse"), UNAUTHENTICATED for evidence that is not authentic or not bound.
  virtual absl::StatusOr<Claims> Verify(const v1::Evidence& evidence,
                                        const v1::TransferKey& transfer_key,
                                        absl::string_view expected_binding) = 0;
  // Dry run for `keybrokerctl policy test` (PolicyAdmin::TestPolicy): every check of Verify()
  // except the binding to a challenge, which does not exist. `transfer_key` is checked only
  // when its kind is set (certification included, its binding excepted). Same error contract
  // as Verify(); FAILED_PRECONDITION when a verifier has no dry run. Never used to release a key.
  virtual absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                               const v1::TransferKey& transfer_key) {
    return absl::FailedPreconditionError("this evidence kind has no dry-run verification");
  }
};

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_API_EVIDENCE_VERIFIER_H_
