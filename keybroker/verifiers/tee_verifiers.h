#ifndef KB_KEYBROKER_VERIFIERS_TEE_VERIFIERS_H_
#define KB_KEYBROKER_VERIFIERS_TEE_VERIFIERS_H_

#include "absl/status/status.h"
#include "common/clock.h"
#include "kb/v1/config.pb.h"
#include "keybroker/collateral/collateral_recognizer.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/api/verifier_set.h"

namespace kb {

// Builds the SEV-SNP, TDX and Azure vTPM verifiers from the trust anchors of `config`
// (amd_chain_file, intel_root_file, intel_pinned_tcb_signing_file, tdx_collateral_dir; unset
// means the built-in roots and, for TDX, no collateral; Azure TDX vTPM evidence uses the same
// Intel anchors and collateral as TDX) and adds them to `set`.
// INVALID_ARGUMENT naming the config field when a file does not parse; NOT_FOUND when one is
// missing. `clock` must outlive the verifiers. `cache` (may be null; must outlive them): the
// operator-managed collateral cache, used by the SEV-SNP verifier for evidence without a VCEK
// and by the TDX verifier together with tdx_collateral_dir (newest valid item wins).
absl::Status AddTeeVerifiers(const v1::BrokerConfig& config, const Clock* clock, VerifierSet& set,
                             CollateralSource* cache = nullptr);

// The trust anchors that imported collateral must chain to: amd_chain_file (empty: the
// built-in AMD chains), intel_root_file (else the embedded Intel SGX Root CA) and
// intel_pinned_tcb_signing_file. Errors as AddTeeVerifiers().
absl::StatusOr<CollateralTrust> LoadCollateralTrust(const v1::BrokerConfig& config);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TEE_VERIFIERS_H_
