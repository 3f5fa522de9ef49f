// MachineAdmin: registered attestation keys and the machine deny list.
#include "keybroker/admin/machine_admin.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/admin/admin_protos.h"
#include "keybroker/service/validation.h"

namespace kb {

absl::StatusOr<v1::AttestationKeyInfo> MachineAdmin::DoRegister(
    const v1::RegisterAttestationKeyRequest& r) {
  RETURN_IF_ERROR(ValidateName("machine", r.machine()));
  ASSIGN_OR_RETURN(TPMT_PUBLIC pub, ParseTpmtPublic(r.ak_public(), "ak_public"));
  if ((pub.objectAttributes & kAttestationKeyAttributes) != kAttestationKeyAttributes) {
    return absl::InvalidArgumentError("ak_public is not a fixedTPM restricted signing key");
  }
  RETURN_IF_ERROR(PublicKeyFromTpmt(pub).status());
  RegisteredAk ak;
  ASSIGN_OR_RETURN(ak.name, TpmName(pub.nameAlg, r.ak_public()));
  ak.machine = r.machine();
  ak.public_area = r.ak_public();
  ak.registered_at = d_.run->clock().Now();
  RETURN_IF_ERROR(d_.aks->Register(ak));
  return ToProto(ak);
}

absl::StatusOr<v1::AttestationKeyInfo> MachineAdmin::RegisterAttestationKey(
    const v1::RegisterAttestationKeyRequest& r, Caller caller) {
  return d_.run->Run<v1::AttestationKeyInfo>(
      {"register_ak", caller, Permission::kManage, ""},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::AttestationKeyInfo> {
        ASSIGN_OR_RETURN(v1::AttestationKeyInfo info, DoRegister(r));
        o.detail =
            absl::StrCat("machine ", r.machine(), " AK ", HexEncode(info.ak_name().substr(2, 8)));
        return info;
      });
}

absl::StatusOr<v1::ListAttestationKeysResponse> MachineAdmin::ListAttestationKeys(
    const v1::ListAttestationKeysRequest&, Caller caller) {
  return d_.run->Run<v1::ListAttestationKeysResponse>(
      {"list_aks", caller, Permission::kReadMetadata, ""},
      [&](AdminOutcome&) -> absl::StatusOr<v1::ListAttestationKeysResponse> {
        ASSIGN_OR_RETURN(std::vector<RegisteredAk> aks, d_.aks->List());
        v1::ListAttestationKeysResponse response;
        for (const RegisteredAk& ak : aks) *response.add_keys() = ToProto(ak);
        return response;
      });
}

absl::StatusOr<v1::AttestationKeyInfo> MachineAdmin::RemoveAttestationKey(
    const v1::RemoveAttestationKeyRequest& r, Caller caller) {
  return d_.run->Run<v1::AttestationKeyInfo>(
      {"remove_ak", caller, Permission::kManage, ""},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::AttestationKeyInfo> {
        if (r.ak_name().size() < 4 || r.ak_name().size() > 66) {
          return absl::InvalidArgumentError("ak_name is not a TPM name (as ak list shows it)");
        }
        ASSIGN_OR_RETURN(RegisteredAk ak, d_.aks->Remove(r.ak_name()));
        o.detail = absl::StrCat("machine ", ak.machine, " AK ", HexEncode(ak.name.substr(2, 8)));
        return ToProto(ak);
      });
}

absl::StatusOr<v1::ForgetMachineResponse> MachineAdmin::ForgetMachine(
    const v1::ForgetMachineRequest& r, Caller caller) {
  return d_.run->Run<v1::ForgetMachineResponse>(
      {"forget_machine", caller, Permission::kManage, ""},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::ForgetMachineResponse> {
        RETURN_IF_ERROR(ValidateMachine("machine", r.machine()));
        if (d_.forgotten == nullptr) {
          return absl::FailedPreconditionError("this store cannot forget machines");
        }
        ForgottenMachineRecord record{r.machine(), caller.subject, d_.run->clock().Now()};
        ASSIGN_OR_RETURN(ForgetCounts counts, d_.forgotten->Forget(record));
        o.detail = absl::StrCat("forgot machine ", r.machine(), ": ", counts.aks, " AK(s), ",
                                counts.confirmations, " confirmation(s), ", counts.grants,
                                " offline grant(s) removed");
        v1::ForgetMachineResponse out;
        out.set_machine(r.machine());
        out.set_attestation_keys_removed(counts.aks);
        out.set_confirmations_removed(counts.confirmations);
        out.set_offline_grants_removed(counts.grants);
        SetTime(out.mutable_forgotten_at(), record.forgotten_at);
        return out;
      });
}

absl::StatusOr<v1::DeniedMachine> MachineAdmin::DenyMachine(const v1::DenyMachineRequest& r,
                                                            Caller caller) {
  return d_.run->Run<v1::DeniedMachine>(
      {"deny_machine", caller, Permission::kOperate, ""},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::DeniedMachine> {
        RETURN_IF_ERROR(ValidateMachine("machine", r.machine()));
        if (r.reason().size() > 256) return absl::InvalidArgumentError("reason too long");
        DeniedMachineRecord record{r.machine(), r.reason(), caller.subject, d_.run->clock().Now()};
        RETURN_IF_ERROR(d_.denylist->Deny(record));
        o.detail = absl::StrCat("denied machine ", r.machine());
        return ToProto(record);
      });
}

absl::StatusOr<v1::AllowMachineResponse> MachineAdmin::AllowMachine(
    const v1::AllowMachineRequest& r, Caller caller) {
  return d_.run->Run<v1::AllowMachineResponse>(
      {"allow_machine", caller, Permission::kOperate, ""},
      [&](AdminOutcome& o) -> absl::StatusOr<v1::AllowMachineResponse> {
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

absl::StatusOr<v1::ListDeniedMachinesResponse> MachineAdmin::ListDeniedMachines(
    const v1::ListDeniedMachinesRequest&, Caller caller) {
  return d_.run->Run<v1::ListDeniedMachinesResponse>(
      {"list_denied_machines", caller, Permission::kReadMetadata, ""},
      [&](AdminOutcome&) -> absl::StatusOr<v1::ListDeniedMachinesResponse> {
        ASSIGN_OR_RETURN(std::vector<DeniedMachineRecord> denied, d_.denylist->List());
        v1::ListDeniedMachinesResponse out;
        for (const DeniedMachineRecord& d : denied) *out.add_machines() = ToProto(d);
        return out;
      });
}

}  // namespace kb
