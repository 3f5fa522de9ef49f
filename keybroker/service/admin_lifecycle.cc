// AdminService: key rotation, version retirement, the machine deny list and offline-grace
// revocation.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/service/admin_protos.h"
#include "keybroker/service/admin_service.h"
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
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", r.version(), " is the active version of key '", r.key_id(),
        "': releases would fall back to an older version or stop; rotate first, or use force"));
  }
  if (!in_use.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", r.version(), " of key '", r.key_id(), "' is still used by ",
        absl::StrJoin(in_use, ", "),
        " (not re-enrolled yet): they could not unlock; use force to retire it anyway"));
  }
  return absl::OkStatus();
}

// Machine names as releases see them: AK names, or TEE identities such as "snp-chip:<hex>".
absl::Status ValidateRevocation(absl::string_view key_id, absl::string_view machine) {
  RETURN_IF_ERROR(ValidateName("key_id", key_id));
  return machine.empty() ? absl::OkStatus() : ValidateMachine("machine", machine);
}

std::string Whom(absl::string_view machine) {
  return machine.empty() ? std::string("every machine") : absl::StrCat("machine ", machine);
}

}  // namespace

absl::StatusOr<v1::KeyMetadata> AdminService::DoRotate(const v1::RotateKeyRequest& r, Outcome& o) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
  ASSIGN_OR_RETURN(SecretBytes material, RandomSecret(key.size_bytes));
  const uint32_t next = key.latest_version + 1;
  RETURN_IF_ERROR(d_.keys->AddVersion(r.key_id(), next, material, d_.clock->Now()));
  o.key_version = next;
  o.detail = absl::StrCat("created version ", next);
  return Metadata(r.key_id());
}

absl::StatusOr<v1::KeyMetadata> AdminService::RotateKey(const v1::RotateKeyRequest& r,
                                                        Caller caller) {
  return Run<v1::KeyMetadata>({"rotate_key", caller, Permission::kOperate, r.key_id()},
                              [&](Outcome& o) { return DoRotate(r, o); });
}

absl::StatusOr<v1::KeyMetadata> AdminService::DoRetire(const v1::RetireKeyVersionRequest& r,
                                                       Outcome& o) {
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

absl::StatusOr<v1::KeyMetadata> AdminService::RetireKeyVersion(const v1::RetireKeyVersionRequest& r,
                                                               Caller caller) {
  return Run<v1::KeyMetadata>({"retire_key_version", caller, Permission::kOperate, r.key_id()},
                              [&](Outcome& o) { return DoRetire(r, o); });
}

absl::StatusOr<v1::DeniedMachine> AdminService::DenyMachine(const v1::DenyMachineRequest& r,
                                                            Caller caller) {
  return Run<v1::DeniedMachine>(
      {"deny_machine", caller, Permission::kOperate, ""},
      [&](Outcome& o) -> absl::StatusOr<v1::DeniedMachine> {
        RETURN_IF_ERROR(ValidateMachine("machine", r.machine()));
        if (r.reason().size() > 256) return absl::InvalidArgumentError("reason too long");
        DeniedMachineRecord record{r.machine(), r.reason(), caller.subject, d_.clock->Now()};
        RETURN_IF_ERROR(d_.denylist->Deny(record));
        o.detail = absl::StrCat("denied machine ", r.machine());
        return ToProto(record);
      });
}

absl::StatusOr<v1::AllowMachineResponse> AdminService::AllowMachine(
    const v1::AllowMachineRequest& r, Caller caller) {
  return Run<v1::AllowMachineResponse>(
      {"allow_machine", caller, Permission::kOperate, ""},
      [&](Outcome& o) -> absl::StatusOr<v1::AllowMachineResponse> {
        RETURN_IF_ERROR(ValidateMachine("machine", r.machine()));
        ASSIGN_OR_RETURN(bool was_denied, d_.denylist->Allow(r.machine()));
        o.detail =
            absl::StrCat("allowed machine ", r.machine(), was_denied ? "" : " (was not denied)");
        v1::AllowMachineResponse out;
        out.set_machine(r.machine());
        out.set_was_denied(was_denied);
        return out;
      });
}

absl::StatusOr<v1::ListDeniedMachinesResponse> AdminService::ListDeniedMachines(
    const v1::ListDeniedMachinesRequest&, Caller caller) {
  return Run<v1::ListDeniedMachinesResponse>(
      {"list_denied_machines", caller, Permission::kReadMetadata, ""},
      [&](Outcome&) -> absl::StatusOr<v1::ListDeniedMachinesResponse> {
        ASSIGN_OR_RETURN(std::vector<DeniedMachineRecord> denied, d_.denylist->List());
        v1::ListDeniedMachinesResponse out;
        for (const DeniedMachineRecord& d : denied) *out.add_machines() = ToProto(d);
        return out;
      });
}

absl::StatusOr<v1::OfflineRevocation> AdminService::RevokeOfflineGrant(
    const v1::RevokeOfflineGrantRequest& r, Caller caller) {
  return Run<v1::OfflineRevocation>(
      {"revoke_offline", caller, Permission::kOperate, r.key_id()},
      [&](Outcome& o) -> absl::StatusOr<v1::OfflineRevocation> {
        RETURN_IF_ERROR(ValidateRevocation(r.key_id(), r.machine()));
        if (r.reason().size() > 256) return absl::InvalidArgumentError("reason too long");
        if (d_.revocations == nullptr)
          return absl::FailedPreconditionError("this broker has no offline revocation store");
        RETURN_IF_ERROR(d_.keys->GetKey(r.key_id()).status());
        OfflineRevocationRecord record{r.key_id(), r.machine(), r.reason(), caller.subject,
                                       d_.clock->Now()};
        RETURN_IF_ERROR(d_.revocations->Revoke(record));
        o.detail = absl::StrCat("revoked offline grace for ", Whom(r.machine()),
                                r.reason().empty() ? "" : ": ", r.reason());
        return ToProto(record);
      });
}

absl::StatusOr<v1::RestoreOfflineGrantResponse> AdminService::RestoreOfflineGrant(
    const v1::RestoreOfflineGrantRequest& r, Caller caller) {
  return Run<v1::RestoreOfflineGrantResponse>(
      {"restore_offline", caller, Permission::kOperate, r.key_id()},
      [&](Outcome& o) -> absl::StatusOr<v1::RestoreOfflineGrantResponse> {
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

}  // namespace kb
