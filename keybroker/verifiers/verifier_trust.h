#ifndef KB_KEYBROKER_VERIFIERS_VERIFIER_TRUST_H_
#define KB_KEYBROKER_VERIFIERS_VERIFIER_TRUST_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kb/v1/config.pb.h"
#include "keybroker/collateral/collateral_recognizer.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"

namespace kb {

// The trust anchors and collateral every kind of evidence is verified against: keybrokerd's
// from its config file, `keybrokerctl verify-evidence`'s from its flags. Immutable once
// loaded; the collateral is shared by the TDX and Azure TDX vTPM verifiers.
struct VerifierTrust {
  std::string amd_chain_pem;     // ASK/ASVK + ARK replacing the built-in AMD roots; empty: them
  std::string intel_roots_pem;   // empty: the embedded Intel SGX Root CA
  std::string intel_pinned_pem;  // pinned Intel SGX TCB Signing certificates; empty: none
  std::shared_ptr<const TdxCollateralCache> tdx_collateral;  // null: none
};

// The trust of `config`: amd_chain_file, intel_root_file, intel_pinned_tcb_signing_file and
// tdx_collateral_dir, each read and parsed (unset means the built-in roots and no
// collateral). INVALID_ARGUMENT naming the config field when a file does not parse;
// NOT_FOUND when one is missing.
absl::StatusOr<VerifierTrust> LoadVerifierTrust(const v1::BrokerConfig& config);

// The Intel anchors of `trust`. INVALID_ARGUMENT when its PEM does not parse.
absl::StatusOr<tdx::IntelTrustAnchors> IntelAnchorsOf(const VerifierTrust& trust);

// The trust anchors that imported collateral must chain to (keybrokerctl collateral import):
// the AMD chain and the Intel anchors of `trust`.
absl::StatusOr<CollateralTrust> CollateralTrustOf(const VerifierTrust& trust);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_VERIFIER_TRUST_H_
