#ifndef KB_KEYBROKER_CTL_POLICY_CAPTURE_H_
#define KB_KEYBROKER_CTL_POLICY_CAPTURE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kb/v1/policy.pb.h"
#include "keybroker/ctl/policy_edit.h"

namespace kb {

// `keybrokerctl policy add-from-evidence`: reference values taken from claims the broker
// verified (TestPolicyResponse of a dry run), never from the evidence bytes themselves.

// The verified claims of one evidence file, as a dry run returned them.
struct VerifiedClaims {
  std::string source;                         // the evidence file, for messages
  std::string evidence_type;                  // "tpm", "snp", ...
  std::string machine;                        // registered AK machine or TEE identity
  std::map<std::string, std::string> claims;  // "pcr.sha256:7" -> hex, "snp.measurement" -> hex
};

// Parses --claims: comma-separated claim names (policy_edit.h), plus "machine",
// "evidence_type", "snp.reported_tcb" (its components become the rule's minimum) and PCR
// ranges "pcr:BANK:A-B" (each PCR of A..B). INVALID_ARGUMENT naming the bad entry.
absl::StatusOr<std::vector<PolicyClaim>> ParseCaptureList(absl::string_view list);

// Adds each claim's verified value to rule `rule` (a valid index) and returns what changed,
// e.g. "added snp.measurement 9a1b... (from vm.json)"; empty when every value was allowed
// already. FAILED_PRECONDITION naming the source when it lacks a claim or a value does not
// fit the claim (e.g. a SHA-1 PCR asked for as sha256).
absl::StatusOr<std::vector<std::string>> ApplyVerifiedClaims(v1::ReleasePolicy& policy, int rule,
                                                             const std::vector<PolicyClaim>& claims,
                                                             const VerifiedClaims& verified);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_POLICY_CAPTURE_H_
