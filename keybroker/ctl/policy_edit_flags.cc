#include "keybroker/ctl/policy_edit_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kb {
namespace {

absl::Status NonEmpty(const char* flag, const std::string& v) {
  if (v.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, " must not be empty"));
  return absl::OkStatus();
}

}  // namespace

absl::Status SetPolicyEditRule(const std::string& v, CtlCommand& c) {
  int rule = 0;
  if (!absl::SimpleAtoi(v, &rule) || rule < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rule must be a rule index (0 is the first rule), got '", v, "'"));
  }
  c.policy_edit.rule = rule;
  return absl::OkStatus();
}

absl::Status SetPolicyEditClaim(const std::string& v, CtlCommand& c) {
  c.policy_edit.claim = v;
  return NonEmpty("--claim", v);
}

absl::Status AddPolicyEditValue(const std::string& v, CtlCommand& c) {
  c.policy_edit.values.push_back(v);
  return NonEmpty("--value", v);
}

absl::Status SetPolicyEditBank(const std::string& v, CtlCommand& c) {
  if (v != "sha1" && v != "sha256" && v != "sha384") {
    return absl::InvalidArgumentError(
        absl::StrCat("--bank must be sha1, sha256 or sha384, got '", v, "'"));
  }
  c.policy_edit.bank = v;
  return absl::OkStatus();
}

absl::Status SetPolicyEditIndex(const std::string& v, CtlCommand& c) {
  uint32_t index = 0;
  if (!absl::SimpleAtoi(v, &index) || index > 23) {
    return absl::InvalidArgumentError(
        absl::StrCat("--index must be a PCR index 0..23, got '", v, "'"));
  }
  c.policy_edit.index = index;
  return absl::OkStatus();
}

absl::Status SetPolicyEditTcb(const std::string& v, CtlCommand& c) {
  c.policy_edit.tcb = v;
  return NonEmpty("--tcb", v);
}

absl::Status SetPolicyEditClaims(const std::string& v, CtlCommand& c) {
  c.policy_edit.claims = v;
  return NonEmpty("--claims", v);
}

absl::Status SetPolicyEditName(const std::string& v, CtlCommand& c) {
  c.policy_edit.name = v;
  return NonEmpty("--name", v);
}

absl::Status AddPolicyEditEvidenceType(const std::string& v, CtlCommand& c) {
  c.policy_edit.evidence_types.push_back(v);
  return NonEmpty("--evidence-type", v);
}

absl::Status SetPolicyEditNewRule(const std::string&, CtlCommand& c) {
  c.policy_edit.new_rule = true;
  return absl::OkStatus();
}

}  // namespace kb
