// MachineAdmin: offline grace: the grants in force, revocation and restoration.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/admin/admin_protos.h"
#include "keybroker/admin/machine_admin.h"
#include "keybroker/service/validation.h"

namespace kb {

namespace {

// Machine names as releases see them: AK names, or TEE identities such as "snp-chip:<hex>".
absl::Status ValidateRevocation(absl::string_view key_id, absl::string_view machine) {
  RETURN_IF_ERROR(ValidateName("key_id", key_id));
  return machine.empty() ? absl::OkStatus() : ValidateMachine("machine", machine);
}

std::string Whom(absl::string_view machine) {
  return machine.empty() ? std::string("every machine") : absl::StrCat("machine ", machine);
}

}  // namespace

absl::StatusOr<v1::OfflineRevocation> MachineAdmin::RevokeOfflineGrant(
    const v1::RevokeOfflineGrantRequest& r, Caller caller) {
  return d_.run->Run<v1::OfflineRevocation>(
      {"revoke_offline", caller, Permission::kOperate, r.key_id()},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::OfflineRevocation> {
        RETURN_IF_ERROR(ValidateRevocation(r.key_id(), r.machine()));
        if (r.reason().size() > 256) return absl::InvalidArgumentError("reason too long");
        if (d_.revocations == nullptr)
          return absl::FailedPreconditionError("this broker has no offline revocation store");
        RETURN_IF_ERROR(d_.keys->GetKey(r.key_id()).status());
        OfflineRevocationRecord record{r.key_id(), r.machine(), r.reason(), caller.subject,
                                       d_.run->clock().Now()};
        RETURN_IF_ERROR(d_.revocations->Revoke(record));
        o.detail = absl::StrCat("revoked offline grace for ", Whom(r.machine()),
                                r.reason().empty() ? "" : ": ", r.reason());
        return ToProto(record);
      });
}

absl::StatusOr<v1::RestoreOfflineGrantResponse> MachineAdmin::RestoreOfflineGrant(
    const v1::RestoreOfflineGrantRequest& r, Caller caller) {
  return d_.run->Run<v1::RestoreOfflineGrantResponse>(
      {"restore_offline", caller, Permission::kOperate, r.key_id()},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::RestoreOfflineGrantResponse> {
        RETURN_IF_ERROR(ValidateRevocation(r.key_id(), r.machine()));
        if (d_.revocations == nullptr)
          return absl::FailedPreconditionError("this broker has no offline revocation store");
        ASSIGN_OR_RETURN(bool was_revoked, d_.revocations->Restore(r.key_id(), r.machine()));
        o.detail = absl::StrCat("restored offline grace for ", Whom(r.machine()),
                                was_revoked ? "" : " (was not revoked)");
        v1::RestoreOfflineGrantResponse out;
        out.set_key_id(r.key_id());
        out.set_machine(r.machine());
        out.set_was_revoked(was_revoked);
        return out;
      });
}

absl::StatusOr<v1::ListOfflineGrantsResponse> MachineAdmin::ListOfflineGrants(
    const v1::ListOfflineGrantsRequest& r, Caller caller) {
  return d_.run->Run<v1::ListOfflineGrantsResponse>(
      {"list_offline_grants", caller, Permission::kReadMetadata, r.key_id()},
      [&](AdminOutcome&) -> absl::StatusOr<v1::ListOfflineGrantsResponse> {
        if (!r.key_id().empty()) RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
        if (d_.grants == nullptr || d_.revocations == nullptr) {
          return absl::FailedPreconditionError("this broker does not record offline grants");
        }
        ASSIGN_OR_RETURN(std::vector<OfflineGrantRecord> grants, d_.grants->ListGrants(r.key_id()));
        ASSIGN_OR_RETURN(std::vector<OfflineRevocationRecord> revocations,
                         d_.revocations->List(r.key_id()));
        v1::ListOfflineGrantsResponse out;
        for (const OfflineGrantRecord& g : grants) {
          v1::OfflineGrant* p = out.add_grants();
          p->set_key_id(g.key_id);
          p->set_machine(g.machine);
          p->set_key_version(g.key_version);
          p->set_offline_boots(g.offline_boots);
          SetTime(p->mutable_granted_at(), g.granted_at);
          ASSIGN_OR_RETURN(std::optional<OfflineRevocationRecord> revoked,
                           d_.revocations->Find(g.key_id, g.machine));
          p->set_revoked(revoked.has_value());
        }
        for (const OfflineRevocationRecord& v : revocations) *out.add_revocations() = ToProto(v);
        return out;
      });
}

}  // namespace kb
