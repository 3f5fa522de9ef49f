#ifndef KB_KEYBROKER_VERIFIERS_TEE_VERIFIERS_H_
#define KB_KEYBROKER_VERIFIERS_TEE_VERIFIERS_H_

#include "absl/status/status.h"
#include "common/clock.h"
#include "kb/v1/config.pb.h"
#include "keybroker/verifiers/verifier_set.h"

namespace kb {

// Builds the SEV-SNP, TDX and Azure vTPM verifiers from the trust anchors of `config`
// (amd_chain_file, intel_root_file, intel_pinned_tcb_signing_file, tdx_collateral_dir; unset
// means the built-in roots and, for TDX, no collateral) and adds them to `set`.
// INVALID_ARGUMENT naming the config field when a file does not parse; NOT_FOUND when one is
// missing. `clock` must outlive the verifiers.
absl::Status AddTeeVerifiers(const v1::BrokerConfig& config, const Clock* clock, VerifierSet& set);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TEE_VERIFIERS_H_
