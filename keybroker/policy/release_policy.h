#ifndef KB_KEYBROKER_POLICY_RELEASE_POLICY_H_
#define KB_KEYBROKER_POLICY_RELEASE_POLICY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kb/v1/policy.pb.h"
#include "keybroker/verifiers/api/claims.h"

namespace kb {

// Parses and validates a release policy written as JSON (docs/policy.md). INVALID_ARGUMENT,
// naming the rule and field, for: malformed JSON, unknown fields (claim names), wrong types,
// an empty policy, a rule that constrains neither machine nor PCRs (it would allow every
// verified guest), an unknown evidence type, a bad PCR bank/index/digest. Digests are
// normalised to lowercase hex.
absl::StatusOr<v1::ReleasePolicy> ParseReleasePolicy(absl::string_view json);

// The canonical JSON of a validated policy (what GetPolicy returns).
std::string PolicyToJson(const v1::ReleasePolicy& policy);

// What an allowing policy decided.
struct PolicyDecision {
  std::string rule;            // label of the rule that allowed ("'name'" or "#index")
  uint32_t offline_boots = 0;  // offline grace the rule grants
};

// Appraises verified claims. Returns the first rule whose every clause holds, or
// PERMISSION_DENIED naming, for each rule, the first clause that failed.
absl::StatusOr<PolicyDecision> EvaluatePolicy(const v1::ReleasePolicy& policy,
                                              const Claims& claims);

}  // namespace kb

#endif  // KB_KEYBROKER_POLICY_RELEASE_POLICY_H_
