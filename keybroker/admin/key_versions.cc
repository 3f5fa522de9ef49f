// KeyAdmin: which version each machine uses (rotation status) and retiring versions.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "keybroker/admin/admin_protos.h"
#include "keybroker/admin/key_admin.h"
#include "keybroker/service/validation.h"

namespace kb {

namespace {

// Machines that use `version` (confirmed enrolment, else latest release), as "name (source)".
std::vector<std::string> MachinesOn(const std::vector<v1::MachineRelease>& machines,
                                    uint32_t version) {
  std::vector<std::string> out;
  for (const v1::MachineRelease& m : machines) {
    if (m.version() == version) out.push_back(absl::StrCat(m.machine(), " (", m.source(), ")"));
  }
  return out;
}

absl::Status CheckRetireAllowed(const v1::RetireKeyVersionRequest& r, const KeyRecord& key,
                                const std::vector<std::string>& in_use) {
  if (r.force()) return absl::OkStatus();
  if (r.version() == key.active_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("version ", r.version(), " is the active version of key '", r.key_id(),
                     "': releases would fall back to an older version or stop; rotate first, or "
                     "force it (keybrokerctl key retire --force)"));
  }
  if (!in_use.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("version ", r.version(), " of key '", r.key_id(), "' is still used by ",
                     absl::StrJoin(in_use, ", "),
                     " (not re-enrolled yet): they could not unlock; retire it anyway with --force "
                     "(keybrokerctl key retire --force)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::MachineRelease>> KeyAdmin::MachineVersions(
    absl::string_view key_id) {
  ASSIGN_OR_RETURN(std::vector<MachineRelease> releases, d_.audit->LatestReleases(key_id));
  std::vector<EnrolmentConfirmation> confirmations;
  if (d_.confirmations != nullptr) {
    ASSIGN_OR_RETURN(confirmations, d_.confirmations->ListConfirmations(key_id));
  }
  std::map<std::string, absl::Time> forgotten;
  if (d_.forgotten != nullptr) {
    ASSIGN_OR_RETURN(std::vector<ForgottenMachineRecord> records, d_.forgotten->ListForgotten());
    for (const ForgottenMachineRecord& f : records) forgotten[f.machine] = f.forgotten_at;
  }
  std::map<std::string, v1::MachineRelease> by_machine;
  for (const MachineRelease& m : releases) {
    // A forgotten machine counts again only with a release after it was forgotten.
    auto gone = forgotten.find(m.machine);
    if (gone != forgotten.end() && m.time <= gone->second) continue;
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

absl::StatusOr<v1::GetRotationStatusResponse> KeyAdmin::GetRotationStatus(
    const v1::GetRotationStatusRequest& r, Caller caller) {
  return d_.run->Run<v1::GetRotationStatusResponse>(
      {"rotation_status", caller, Permission::kReadMetadata, r.key_id()},
      [&](AdminOutcome&) -> absl::StatusOr<v1::GetRotationStatusResponse> {
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

absl::StatusOr<v1::KeyMetadata> KeyAdmin::DoRetire(const v1::RetireKeyVersionRequest& r,
                                                   AdminOutcome& o) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  if (r.version() == 0) return absl::InvalidArgumentError("version must be at least 1");
  o.key_version = r.version();
  ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
  ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions, d_.keys->ListVersions(r.key_id()));
  const KeyVersionRecord* found = nullptr;
  for (const KeyVersionRecord& v : versions) {
    if (v.version == r.version()) found = &v;
  }
  if (found == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no version ", r.version(), " of key '", r.key_id(), "'"));
  }
  if (found->retired) {
    o.detail = absl::StrCat("version ", r.version(), " already retired");
    return ToProto(key, versions);
  }
  ASSIGN_OR_RETURN(std::vector<v1::MachineRelease> machines, MachineVersions(r.key_id()));
  const std::vector<std::string> in_use = MachinesOn(machines, r.version());
  RETURN_IF_ERROR(CheckRetireAllowed(r, key, in_use));
  RETURN_IF_ERROR(d_.keys->RetireVersion(r.key_id(), r.version()));
  o.detail = absl::StrCat("retired version ", r.version());
  if (r.force() && (r.version() == key.active_version || !in_use.empty())) {
    absl::StrAppend(&o.detail, " (forced", r.version() == key.active_version ? "; was active" : "",
                    in_use.empty() ? "" : "; still used by ", absl::StrJoin(in_use, ", "), ")");
  }
  return Metadata(r.key_id());
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::RetireKeyVersion(const v1::RetireKeyVersionRequest& r,
                                                           Caller caller) {
  return d_.run->Run<v1::KeyMetadata>(
      {"retire_key_version", caller, Permission::kOperate, r.key_id()},
      [&](AdminOutcome& o) { return DoRetire(r, o); });
}

}  // namespace kb
