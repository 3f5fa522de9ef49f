#ifndef KB_KEYBROKER_POLICY_TEE_POLICY_H_
#define KB_KEYBROKER_POLICY_TEE_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "kb/v1/policy.pb.h"
#include "keybroker/verifiers/api/claims.h"

namespace kb {

// The TEE clauses of a release-policy rule (PolicyRule.snp / .tdx; docs/policy.md).

// True if the rule pins measured TEE state (SNP measurements, TDX MRTD or RTMRs).
bool ConstrainsTeeState(const v1::PolicyRule& rule);

// Validates and normalises (lowercase hex, default TCB status) the TEE clauses of `rule`.
// INVALID_ARGUMENT naming `where` and the field for bad hex, wrong sizes, an RTMR index > 3,
// a VMPL > 3 or an unknown TCB status.
absl::Status ValidateTeeClauses(v1::PolicyRule& rule, const std::string& where);

// The first failing TEE clause of `rule` for `claims` (PERMISSION_DENIED), or OK. Also applies
// the defaults every rule has: debug SNP guests and debug TDs are denied unless the rule's
// clause allows debug, and TDX claims need an allowed TCB status (default "UpToDate").
absl::Status CheckTeeClauses(const v1::PolicyRule& rule, const Claims& claims);

}  // namespace kb

#endif  // KB_KEYBROKER_POLICY_TEE_POLICY_H_
