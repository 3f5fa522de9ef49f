// PolicyAdmin: setting (compare-and-set) and reading release policies.
#include "keybroker/admin/policy_admin.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/service/validation.h"

namespace kb {

absl::StatusOr<v1::SetPolicyResponse> PolicyAdmin::SetPolicy(const v1::SetPolicyRequest& r,
                                                             Caller caller) {
  return d_.run->Run<v1::SetPolicyResponse>(
      {"set_policy", caller, Permission::kManage, r.key_id()},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::SetPolicyResponse> {
        RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
        ASSIGN_OR_RETURN(v1::ReleasePolicy policy, ParseReleasePolicy(r.policy_json()));
        // Compare-and-set in the store: one conditional write, across replicas too.
        std::optional<uint64_t> expected;
        if (r.has_expected_version()) expected = r.expected_version();
        ASSIGN_OR_RETURN(uint64_t version,
                         d_.keys->SetPolicy(r.key_id(), PolicyToJson(policy), expected));
        o.detail = absl::StrCat("policy v", version);
        v1::SetPolicyResponse out;
        out.set_policy_version(version);
        return out;
      });
}

absl::StatusOr<v1::GetPolicyResponse> PolicyAdmin::GetPolicy(const v1::GetPolicyRequest& r,
                                                             Caller caller) {
  return d_.run->Run<v1::GetPolicyResponse>(
      {"get_policy", caller, Permission::kReadMetadata, r.key_id()},
      [&](AdminOutcome&) -> absl::StatusOr<v1::GetPolicyResponse> {
        ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
        if (key.policy_version == 0) {
          return absl::NotFoundError(absl::StrCat("key '", r.key_id(), "' has no policy"));
        }
        v1::GetPolicyResponse response;
        response.set_policy_json(key.policy_json);
        response.set_policy_version(key.policy_version);
        return response;
      });
}

}  // namespace kb
