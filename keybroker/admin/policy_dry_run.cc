// PolicyAdmin::TestPolicy: a release decision as a dry run, without a challenge or a key.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/admin/policy_admin.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/service/validation.h"

namespace kb {

namespace {

constexpr absl::string_view kBindingNotChecked = "not checked (dry run)";

void SetClaims(const Claims& claims, v1::TestPolicyResponse& out) {
  out.set_evidence_verified(true);
  out.set_evidence_type(claims.evidence_type);
  out.set_machine(claims.machine);
  auto& map = *out.mutable_claims();
  for (const auto& [bank, values] : claims.pcrs) {
    for (const auto& [index, hex] : values) map[absl::StrCat("pcr.", bank, ":", index)] = hex;
  }
  for (const auto& [name, value] : claims.attributes) map[name] = value;
}

// The audit detail of a dry run: what a release would have decided.
std::string Detail(const v1::TestPolicyResponse& out) {
  const std::string policy = out.candidate_policy()
                                 ? std::string("candidate policy")
                                 : absl::StrCat("policy v", out.policy_version());
  if (out.decision() == "allow") {
    return absl::StrCat("dry run: ", policy, " would allow by rule ", out.rule(), ", offline ",
                        out.offline_boots(), " boots");
  }
  return absl::StrCat("dry run: ", policy, " would deny: ", out.reason());
}

}  // namespace

absl::StatusOr<v1::ReleasePolicy> PolicyAdmin::PolicyUnderTest(const v1::TestPolicyRequest& r,
                                                               v1::TestPolicyResponse& out) {
  ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
  if (!r.policy_json().empty()) {
    out.set_candidate_policy(true);
    return ParseReleasePolicy(r.policy_json());
  }
  if (key.policy_version == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key '", r.key_id(), "' has no release policy; give a candidate policy"));
  }
  out.set_policy_version(key.policy_version);
  return ParseReleasePolicy(key.policy_json);
}

absl::StatusOr<v1::TestPolicyResponse> PolicyAdmin::DoTestPolicy(const v1::TestPolicyRequest& r,
                                                                 AdminOutcome& o) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  if (r.evidence().kind_case() == v1::Evidence::KIND_NOT_SET) {
    return absl::InvalidArgumentError("evidence is missing");
  }
  if (d_.verifier == nullptr)
    return absl::FailedPreconditionError("this broker has no evidence verifiers");
  v1::TestPolicyResponse out;
  out.set_binding(std::string(kBindingNotChecked));
  ASSIGN_OR_RETURN(v1::ReleasePolicy policy, PolicyUnderTest(r, out));
  out.set_decision("deny");
  absl::StatusOr<Claims> claims = d_.verifier->VerifyUnbound(r.evidence(), r.transfer_key());
  if (absl::IsUnavailable(claims.status())) return claims.status();  // store down: not a verdict
  if (!claims.ok()) {
    out.set_reason(std::string(claims.status().message()));
  } else {
    SetClaims(*claims, out);
    absl::StatusOr<PolicyDecision> decision = EvaluatePolicy(policy, *claims);
    if (decision.ok()) {
      out.set_decision("allow");
      out.set_rule(decision->rule);
      out.set_offline_boots(decision->offline_boots);
    } else {
      out.set_reason(std::string(decision.status().message()));
    }
  }
  o.detail = Detail(out);
  return out;
}

absl::StatusOr<v1::TestPolicyResponse> PolicyAdmin::TestPolicy(const v1::TestPolicyRequest& r,
                                                               Caller caller) {
  return d_.run->Run<v1::TestPolicyResponse>(
      {"policy_test", caller, Permission::kOperate, r.key_id()},
      [&](AdminOutcome& o) { return DoTestPolicy(r, o); });
}

}  // namespace kb
