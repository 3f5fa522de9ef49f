#ifndef KB_KEYBROKER_VERIFIERS_API_VERIFIER_SET_H_
#define KB_KEYBROKER_VERIFIERS_API_VERIFIER_SET_H_

#include <map>
#include <memory>

#include "keybroker/verifiers/api/evidence_verifier.h"

namespace kb {

// Dispatches evidence to the verifier registered for its kind. Thread-safe after setup.
class VerifierSet final : public EvidenceVerifier {
 public:
  void Add(v1::Evidence::KindCase kind, std::unique_ptr<EvidenceVerifier> verifier) {
    verifiers_[kind] = std::move(verifier);
  }
  bool Has(v1::Evidence::KindCase kind) const { return verifiers_.count(kind) != 0; }
  // INVALID_ARGUMENT (check "parse") for evidence of no kind or a kind this broker lacks.
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                                absl::string_view expected_binding) override {
    auto it = verifiers_.find(evidence.kind_case());
    if (it == verifiers_.end()) {
      return CheckFailed("parse", absl::StatusCode::kInvalidArgument,
                         "evidence of no supported kind");
    }
    return it->second->Verify(evidence, transfer_key, expected_binding);
  }
  // Same dispatch and errors as Verify().
  absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                       const v1::TransferKey& transfer_key) override {
    auto it = verifiers_.find(evidence.kind_case());
    if (it == verifiers_.end()) {
      return CheckFailed("parse", absl::StatusCode::kInvalidArgument,
                         "evidence of no supported kind");
    }
    return it->second->VerifyUnbound(evidence, transfer_key);
  }

 private:
  std::map<v1::Evidence::KindCase, std::unique_ptr<EvidenceVerifier>> verifiers_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_API_VERIFIER_SET_H_
