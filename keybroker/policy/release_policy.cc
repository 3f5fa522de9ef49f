#include "keybroker/policy/release_policy.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/policy/json_types.h"
#include "keybroker/policy/tee_policy.h"
#include "keybroker/verifiers/api/evidence_types.h"

namespace kb {
namespace {

size_t DigestSize(absl::string_view bank) {
  if (bank == "sha1") return 20;
  if (bank == "sha256") return 32;
  if (bank == "sha384") return 48;
  return 0;
}

std::string RuleLabel(const v1::PolicyRule& rule, int index) {
  return rule.name().empty() ? absl::StrCat("#", index) : absl::StrCat("'", rule.name(), "'");
}

absl::Status ValidatePcr(v1::PcrRequirement& pcr, const std::string& where) {
  if (pcr.bank().empty()) pcr.set_bank("sha256");
  const size_t size = DigestSize(pcr.bank());
  if (size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": unknown bank '", pcr.bank(), "' (sha1, sha256, sha384)"));
  }
  if (pcr.index() > 23) return absl::InvalidArgumentError(absl::StrCat(where, ": index > 23"));
  if (pcr.allowed().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": 'allowed' is empty"));
  }
  for (std::string& value : *pcr.mutable_allowed()) {
    auto bytes = HexDecode(value);
    if (!bytes.ok() || bytes->size() != size) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", value, "' is not a ", pcr.bank(), " digest in hex"));
    }
    absl::AsciiStrToLower(&value);
  }
  return absl::OkStatus();
}

// All zeros (a PCR nothing extended) or all ones (a PCR reset to ff): values any machine can
// show, so they identify nothing.
bool CarriesNoMeasurement(absl::string_view hex) {
  return hex.find_first_not_of('0') == absl::string_view::npos ||
         hex.find_first_not_of('f') == absl::string_view::npos;
}

// A rule that only pins PCRs, each of which allows a value that carries no measurement, admits
// every verified guest: refused like a rule that constrains nothing.
absl::Status CheckPcrsIdentifySomething(const v1::PolicyRule& rule, const std::string& where) {
  if (!rule.machines().empty() || ConstrainsTeeState(rule) || rule.pcrs().empty()) {
    return absl::OkStatus();
  }
  std::string empty_pcrs;
  for (const v1::PcrRequirement& pcr : rule.pcrs()) {
    const bool weak = std::any_of(pcr.allowed().begin(), pcr.allowed().end(),
                                  [](const std::string& v) { return CarriesNoMeasurement(v); });
    if (!weak) return absl::OkStatus();
    absl::StrAppend(&empty_pcrs, empty_pcrs.empty() ? "" : ", ", pcr.bank(), ":", pcr.index());
  }
  return absl::InvalidArgumentError(absl::StrCat(
      where, " pins only PCRs (", empty_pcrs,
      ") that it allows to be all zeros or all ones, values any machine shows for a PCR nothing "
      "extended: it would allow every verified guest. Pin a measured value, or add 'machines' "
      "or a TEE measurement"));
}

absl::Status ValidateRule(v1::PolicyRule& rule, int index) {
  const std::string where = absl::StrCat("policy rule ", RuleLabel(rule, index));
  if (rule.machines().empty() && rule.pcrs().empty() && !ConstrainsTeeState(rule)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where,
                     " constrains neither 'machines' nor 'pcrs' (nor snp.measurements, tdx.mrtd, "
                     "tdx.rtmr): it would allow every verified guest"));
  }
  for (const std::string& type : rule.evidence_types()) {
    if (!IsEvidenceType(type)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown evidence type '", type,
                                                     "' (known: ", EvidenceTypeList(), ")"));
    }
  }
  if (rule.offline_boots() > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": offline_boots must be at most 1000"));
  }
  for (const std::string& machine : rule.machines()) {
    if (machine.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty machine"));
  }
  std::set<std::pair<std::string, uint32_t>> seen;
  for (int i = 0; i < rule.pcrs_size(); ++i) {
    v1::PcrRequirement& pcr = *rule.mutable_pcrs(i);
    const std::string pcr_where = absl::StrCat(where, " pcrs[", i, "]");
    RETURN_IF_ERROR(ValidatePcr(pcr, pcr_where));
    if (!seen.emplace(pcr.bank(), pcr.index()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(pcr_where, ": PCR ", pcr.bank(), ":", pcr.index(), " listed twice"));
    }
  }
  RETURN_IF_ERROR(ValidateTeeClauses(rule, where));
  RETURN_IF_ERROR(CheckPcrsIdentifySomething(rule, where));
  return absl::OkStatus();
}

// The first failing clause of `rule`, or OK.
absl::Status CheckRule(const v1::PolicyRule& rule, const Claims& claims) {
  if (!rule.evidence_types().empty() &&
      std::find(rule.evidence_types().begin(), rule.evidence_types().end(), claims.evidence_type) ==
          rule.evidence_types().end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("evidence type '", claims.evidence_type, "' not allowed"));
  }
  if (!rule.machines().empty() && std::find(rule.machines().begin(), rule.machines().end(),
                                            claims.machine) == rule.machines().end()) {
    return absl::PermissionDeniedError(absl::StrCat("machine '", claims.machine, "' not allowed"));
  }
  for (const v1::PcrRequirement& pcr : rule.pcrs()) {
    const std::string label = absl::StrCat("pcr ", pcr.bank(), ":", pcr.index());
    auto bank = claims.pcrs.find(pcr.bank());
    if (bank == claims.pcrs.end() || !bank->second.count(pcr.index())) {
      return absl::PermissionDeniedError(absl::StrCat(label, " was not quoted"));
    }
    const std::string& value = bank->second.at(pcr.index());
    if (std::find(pcr.allowed().begin(), pcr.allowed().end(), value) == pcr.allowed().end()) {
      return absl::PermissionDeniedError(
          absl::StrCat(label, " value ", value.substr(0, 16), "... not allowed"));
    }
  }
  RETURN_IF_ERROR(CheckTeeClauses(rule, claims));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ReleasePolicy> ParseReleasePolicy(absl::string_view json) {
  RETURN_IF_ERROR(CheckJsonTypes(json, v1::ReleasePolicy::descriptor()));
  v1::ReleasePolicy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &policy, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy is not valid: ", std::string(status.message())));
  }
  if (policy.allow().empty()) {
    return absl::InvalidArgumentError(
        "policy has no rules ('allow' is empty); to stop releases, disable the key");
  }
  for (int i = 0; i < policy.allow_size(); ++i) {
    RETURN_IF_ERROR(ValidateRule(*policy.mutable_allow(i), i));
  }
  return policy;
}

std::string PolicyToJson(const v1::ReleasePolicy& policy) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(policy, &out, options);
  return out;
}

absl::StatusOr<PolicyDecision> EvaluatePolicy(const v1::ReleasePolicy& policy,
                                              const Claims& claims) {
  std::vector<std::string> reasons;
  for (int i = 0; i < policy.allow_size(); ++i) {
    const v1::PolicyRule& rule = policy.allow(i);
    absl::Status s = CheckRule(rule, claims);
    if (s.ok()) return PolicyDecision{RuleLabel(rule, i), rule.offline_boots()};
    reasons.push_back(absl::StrCat("rule ", RuleLabel(rule, i), ": ", s.message()));
  }
  if (reasons.empty()) return absl::PermissionDeniedError("policy has no rules");
  return absl::PermissionDeniedError(absl::StrCat("policy denies: ", absl::StrJoin(reasons, "; ")));
}

}  // namespace kb
