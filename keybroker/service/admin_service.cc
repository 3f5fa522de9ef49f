#include "keybroker/service/admin_service.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/service/admin_protos.h"
#include "keybroker/service/validation.h"

namespace kb {

absl::Status AdminService::Record(const Call& call, const Outcome& outcome,
                                  const absl::Status& result) {
  AuditRecord record;
  record.time = d_.clock->Now();
  record.actor = call.caller.subject;
  record.action = std::string(call.action);
  record.key_id = std::string(call.key_id.substr(0, 128));
  record.key_version = outcome.key_version;
  record.decision = result.ok() ? "allow" : "deny";
  record.reason = result.ok() ? outcome.detail : std::string(result.message());
  if (absl::Status s = d_.audit->Append(record); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("audit log unavailable: ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::KeyMetadata> AdminService::Metadata(absl::string_view key_id) {
  ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(key_id));
  ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions, d_.keys->ListVersions(key_id));
  return ToProto(key, versions);
}

absl::StatusOr<v1::KeyMetadata> AdminService::DoCreateKey(const v1::CreateKeyRequest& r) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  const uint32_t size = r.size_bytes() == 0 ? 32 : r.size_bytes();
  if (size != 32 && size != 64) return absl::InvalidArgumentError("size_bytes must be 32 or 64");
  if (r.description().size() > 1024) return absl::InvalidArgumentError("description too long");
  ASSIGN_OR_RETURN(SecretBytes material, RandomSecret(size));
  KeyRecord record;
  record.key_id = r.key_id();
  record.latest_version = 1;
  record.size_bytes = size;
  record.description = r.description();
  record.created_at = d_.clock->Now();
  RETURN_IF_ERROR(d_.keys->CreateKey(record, material));
  return Metadata(r.key_id());
}

absl::StatusOr<v1::KeyMetadata> AdminService::CreateKey(const v1::CreateKeyRequest& r,
                                                        Caller caller) {
  return Run<v1::KeyMetadata>({"create_key", caller, Permission::kManage, r.key_id()},
                              [&](Outcome& o) {
                                o.detail = "created version 1";
                                o.key_version = 1;
                                return DoCreateKey(r);
                              });
}

absl::StatusOr<v1::ListKeysResponse> AdminService::ListKeys(const v1::ListKeysRequest&,
                                                            Caller caller) {
  return Run<v1::ListKeysResponse>(
      {"list_keys", caller, Permission::kReadMetadata, ""},
      [&](Outcome&) -> absl::StatusOr<v1::ListKeysResponse> {
        ASSIGN_OR_RETURN(std::vector<KeyRecord> keys, d_.keys->ListKeys());
        v1::ListKeysResponse response;
        for (const KeyRecord& k : keys) {
          ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions, d_.keys->ListVersions(k.key_id));
          *response.add_keys() = ToProto(k, versions);
        }
        return response;
      });
}

absl::StatusOr<v1::KeyMetadata> AdminService::GetKey(const v1::GetKeyRequest& r, Caller caller) {
  return Run<v1::KeyMetadata>({"get_key", caller, Permission::kReadMetadata, r.key_id()},
                              [&](Outcome&) { return Metadata(r.key_id()); });
}

absl::StatusOr<v1::SetPolicyResponse> AdminService::SetPolicy(const v1::SetPolicyRequest& r,
                                                              Caller caller) {
  return Run<v1::SetPolicyResponse>(
      {"set_policy", caller, Permission::kManage, r.key_id()},
      [&](Outcome& o) -> absl::StatusOr<v1::SetPolicyResponse> {
        RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
        ASSIGN_OR_RETURN(v1::ReleasePolicy policy, ParseReleasePolicy(r.policy_json()));
        // Compare-and-set: the version check and the store happen under one lock.
        absl::MutexLock lock(&policy_mu_);
        if (r.has_expected_version()) {
          ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
          if (key.policy_version != r.expected_version()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "policy of key '", r.key_id(), "' changed since version ", r.expected_version(),
                " (now ", key.policy_version, "); read it again and reapply the change"));
          }
        }
        ASSIGN_OR_RETURN(uint64_t version, d_.keys->SetPolicy(r.key_id(), PolicyToJson(policy)));
        o.detail = absl::StrCat("policy v", version);
        v1::SetPolicyResponse out;
        out.set_policy_version(version);
        return out;
      });
}

absl::StatusOr<v1::GetPolicyResponse> AdminService::GetPolicy(const v1::GetPolicyRequest& r,
                                                              Caller caller) {
  return Run<v1::GetPolicyResponse>(
      {"get_policy", caller, Permission::kReadMetadata, r.key_id()},
      [&](Outcome&) -> absl::StatusOr<v1::GetPolicyResponse> {
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

absl::StatusOr<v1::AttestationKeyInfo> AdminService::DoRegister(
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
  ak.registered_at = d_.clock->Now();
  RETURN_IF_ERROR(d_.aks->Register(ak));
  return ToProto(ak);
}

absl::StatusOr<v1::AttestationKeyInfo> AdminService::RegisterAttestationKey(
    const v1::RegisterAttestationKeyRequest& r, Caller caller) {
  return Run<v1::AttestationKeyInfo>({"register_ak", caller, Permission::kManage, ""},
                                     [&](Outcome& o) -> absl::StatusOr<v1::AttestationKeyInfo> {
                                       ASSIGN_OR_RETURN(v1::AttestationKeyInfo info, DoRegister(r));
                                       o.detail =
                                           absl::StrCat("machine ", r.machine(), " AK ",
                                                        HexEncode(info.ak_name().substr(2, 8)));
                                       return info;
                                     });
}

absl::StatusOr<v1::ListAttestationKeysResponse> AdminService::ListAttestationKeys(
    const v1::ListAttestationKeysRequest&, Caller caller) {
  return Run<v1::ListAttestationKeysResponse>(
      {"list_aks", caller, Permission::kReadMetadata, ""},
      [&](Outcome&) -> absl::StatusOr<v1::ListAttestationKeysResponse> {
        ASSIGN_OR_RETURN(std::vector<RegisteredAk> aks, d_.aks->List());
        v1::ListAttestationKeysResponse response;
        for (const RegisteredAk& ak : aks) *response.add_keys() = ToProto(ak);
        return response;
      });
}

absl::StatusOr<v1::KeyMetadata> AdminService::DisableKey(const v1::DisableKeyRequest& r,
                                                         Caller caller) {
  return Run<v1::KeyMetadata>({"disable_key", caller, Permission::kOperate, r.key_id()},
                              [&](Outcome& o) -> absl::StatusOr<v1::KeyMetadata> {
                                RETURN_IF_ERROR(d_.keys->SetDisabled(r.key_id(), true));
                                o.detail = "disabled";
                                return Metadata(r.key_id());
                              });
}

}  // namespace kb
