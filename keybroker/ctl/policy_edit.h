#ifndef KB_KEYBROKER_CTL_POLICY_EDIT_H_
#define KB_KEYBROKER_CTL_POLICY_EDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kb/v1/policy.pb.h"

namespace kb {

// Edits of a release policy (kb.v1.ReleasePolicy) by reference value, as pure functions: what
// `keybrokerctl policy add-value`, `set-pcr`, ... apply between reading the stored policy and
// storing it again. The broker validates the result (SetPolicy); these functions check the
// values of the claims they touch so that the operator gets a precise local error first.

// A policy field an operator edits, named like the verified claim it constrains
// (docs/policy.md): "snp.measurement", "tdx.rtmr1", "pcr:sha256:7", "machines", ...
struct PolicyClaim {
  enum class Kind {
    kMachines,        // "machines" (or "machine"): rule.machines
    kEvidenceTypes,   // "evidence_types" (or "evidence_type"): rule.evidence_types
    kSnpMeasurement,  // "snp.measurement": snp.measurements, 48 bytes hex
    kSnpHostData,     // "snp.host_data": snp.host_data, 32 bytes hex
    kTdxMrtd,         // "tdx.mrtd": tdx.mrtd, 48 bytes hex
    kTdxRtmr,         // "tdx.rtmr0".."tdx.rtmr3": tdx.rtmr[index], 48 bytes hex
    kTdxTcbStatus,    // "tdx.tcb_status": tdx.allowed_tcb_status, Intel status names
    kPcr,             // "pcr:BANK:INDEX" (or "pcr.BANK:INDEX"): pcrs, digest of the bank
    kSnpReportedTcb,  // "snp.reported_tcb": snp.min_reported_tcb (a minimum, not a value set)
  };
  Kind kind = Kind::kMachines;
  std::string bank;    // kPcr
  uint32_t index = 0;  // kPcr: PCR index 0..23; kTdxRtmr: RTMR index 0..3
  std::string name;    // canonical: "snp.measurement", "pcr:sha256:7", "tdx.rtmr1", ...
};

// Parses a claim name. INVALID_ARGUMENT "unknown claim 'X' (known: ...)", or naming a bad PCR
// bank or index.
absl::StatusOr<PolicyClaim> ParsePolicyClaim(absl::string_view name);

// Checks a value of a set-valued claim and returns it normalised (hex in lowercase).
// INVALID_ARGUMENT naming the claim for malformed hex, a wrong size ("snp.measurement must be
// 48 bytes (96 hex digits), got 3 bytes"), an unknown evidence type or TCB status, an empty
// machine, or kSnpReportedTcb (not a set: see SetMinTcb).
absl::StatusOr<std::string> NormalizeClaimValue(const PolicyClaim& claim, absl::string_view value);

// The index of the rule to edit: `rule` if given, else the only rule. INVALID_ARGUMENT when
// the policy has no rules, several rules and no `rule`, or `rule` is out of range.
absl::StatusOr<int> ResolveRule(const v1::ReleasePolicy& policy, std::optional<int> rule);

// "#0 'name'" or "#1": how output names a rule.
std::string DescribeRule(const v1::ReleasePolicy& policy, int rule);

// Adds a normalised `value` to the claim's allowed set in rule `rule` (a valid index),
// creating the PCR / RTMR entry or TEE clause it needs. False when it was listed already.
bool AddClaimValue(v1::ReleasePolicy& policy, int rule, const PolicyClaim& claim,
                   const std::string& value);

// Removes a normalised `value`; a PCR or RTMR entry left without values is removed.
// NOT_FOUND "rule #0: snp.measurement does not allow abcd..." when it is not listed.
absl::Status RemoveClaimValue(v1::ReleasePolicy& policy, int rule, const PolicyClaim& claim,
                              const std::string& value);

// Replaces PCR `bank`:`index`'s allowed values with normalised `values` (non-empty).
void SetPcr(v1::ReleasePolicy& policy, int rule, const std::string& bank, uint32_t index,
            const std::vector<std::string>& values);

// Drops the requirement on PCR `bank`:`index`. NOT_FOUND when the rule has none.
absl::Status UnsetPcr(v1::ReleasePolicy& policy, int rule, const std::string& bank, uint32_t index);

// SEV-SNP TCB components by name: bootloader, tee, snp, microcode.
using TcbComponents = std::vector<std::pair<std::string, uint32_t>>;

// Parses "bootloader=3,tee=0,snp=8,microcode=115" (any non-empty subset). INVALID_ARGUMENT
// naming an unknown component, a repeated one or a value that is not a number.
absl::StatusOr<TcbComponents> ParseTcbComponents(absl::string_view spec);

// Sets the named components of the rule's snp.min_reported_tcb (others are kept). False when
// nothing changed.
bool SetMinTcb(v1::ReleasePolicy& policy, int rule, const TcbComponents& tcb);

// Appends an empty rule named `name` (may be empty) with `evidence_types`; returns its index.
// INVALID_ARGUMENT for an unknown evidence type or a name another rule has.
absl::StatusOr<int> AddRule(v1::ReleasePolicy& policy, const std::string& name,
                            const std::vector<std::string>& evidence_types);

// Removes rule `rule` (a valid index).
void RemoveRule(v1::ReleasePolicy& policy, int rule);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_POLICY_EDIT_H_
