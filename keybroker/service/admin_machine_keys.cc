// AdminService: which key version each machine uses (rotation status) and which machines hold
// offline grants.
#include <map>

#include "common/status_macros.h"
#include "keybroker/service/admin_protos.h"
#include "keybroker/service/admin_service.h"
#include "keybroker/service/validation.h"

namespace kb {

absl::StatusOr<std::vector<v1::MachineRelease>> AdminService::MachineVersions(
    absl::string_view key_id) {
  ASSIGN_OR_RETURN(std::vector<MachineRelease> releases, d_.audit->LatestReleases(key_id));
  std::vector<EnrolmentConfirmation> confirmations;
  if (d_.confirmations != nullptr) {
    ASSIGN_OR_RETURN(confirmations, d_.confirmations->ListConfirmations(key_id));
  }
  std::map<std::string, v1::MachineRelease> by_machine;
  for (const MachineRelease& m : releases) {
    v1::MachineRelease& p = by_machine[m.machine];
    p.set_machine(m.machine);
    p.set_version(m.version);
    p.set_source("release");
    p.set_last_released_version(m.version);
    SetTime(p.mutable_released_at(), m.time);
  }
  // A confirmation is what the guest reported it is enrolled with: it wins over releases.
  for (const EnrolmentConfirmation& c : confirmations) {
    v1::MachineRelease& p = by_machine[c.machine];
    p.set_machine(c.machine);
    p.set_version(c.version);
    p.set_source("confirmed");
    SetTime(p.mutable_confirmed_at(), c.confirmed_at);
  }
  std::vector<v1::MachineRelease> out;
  for (auto& [machine, p] : by_machine) out.push_back(std::move(p));
  return out;
}

absl::StatusOr<v1::GetRotationStatusResponse> AdminService::GetRotationStatus(
    const v1::GetRotationStatusRequest& r, Caller caller) {
  return Run<v1::GetRotationStatusResponse>(
      {"rotation_status", caller, Permission::kReadMetadata, r.key_id()},
      [&](Outcome&) -> absl::StatusOr<v1::GetRotationStatusResponse> {
        ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
        ASSIGN_OR_RETURN(std::vector<v1::MachineRelease> machines, MachineVersions(r.key_id()));
        v1::GetRotationStatusResponse out;
        out.set_key_id(key.key_id);
        out.set_active_version(key.active_version);
        for (v1::MachineRelease& m : machines) {
          m.set_current(m.version() == key.active_version);
          *out.add_machines() = std::move(m);
        }
        return out;
      });
}

absl::StatusOr<v1::ListOfflineGrantsResponse> AdminService::ListOfflineGrants(
    const v1::ListOfflineGrantsRequest& r, Caller caller) {
  return Run<v1::ListOfflineGrantsResponse>(
      {"list_offline_grants", caller, Permission::kReadMetadata, r.key_id()},
      [&](Outcome&) -> absl::StatusOr<v1::ListOfflineGrantsResponse> {
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
