#include "keybroker/service/admin_service.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/service/validation.h"

namespace kb {
namespace {

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  ts->set_seconds(absl::ToUnixSeconds(t));
}

v1::KeyMetadata ToProto(const KeyRecord& k) {
  v1::KeyMetadata m;
  m.set_key_id(k.key_id);
  m.set_latest_version(k.latest_version);
  m.set_size_bytes(k.size_bytes);
  m.set_disabled(k.disabled);
  m.set_policy_version(k.policy_version);
  m.set_description(k.description);
  SetTime(m.mutable_created_at(), k.created_at);
  return m;
}

v1::AttestationKeyInfo ToProto(const RegisteredAk& ak) {
  v1::AttestationKeyInfo info;
  info.set_machine(ak.machine);
  info.set_ak_name(ak.name);
  SetTime(info.mutable_registered_at(), ak.registered_at);
  return info;
}

}  // namespace

template <typename T>
absl::StatusOr<T> AdminService::Audited(absl::string_view action, absl::string_view actor,
                                        absl::string_view key_id, absl::string_view detail,
                                        absl::StatusOr<T> result) {
  AuditRecord record{0,
                     d_.clock->Now(),
                     std::string(actor),
                     std::string(action),
                     std::string(key_id.substr(0, 128)),
                     0,
                     result.ok() ? "allow" : "deny",
                     result.ok() ? std::string(detail) : std::string(result.status().message())};
  if (absl::Status s = d_.audit->Append(record); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("audit log unavailable: ", s.message()));
  }
  return result;
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
  return ToProto(record);
}

absl::StatusOr<v1::KeyMetadata> AdminService::CreateKey(const v1::CreateKeyRequest& r,
                                                        absl::string_view actor) {
  return Audited("create_key", actor, r.key_id(), "created version 1", DoCreateKey(r));
}

absl::StatusOr<v1::ListKeysResponse> AdminService::ListKeys(const v1::ListKeysRequest&,
                                                            absl::string_view actor) {
  auto out = [&]() -> absl::StatusOr<v1::ListKeysResponse> {
    ASSIGN_OR_RETURN(std::vector<KeyRecord> keys, d_.keys->ListKeys());
    v1::ListKeysResponse response;
    for (const KeyRecord& k : keys) *response.add_keys() = ToProto(k);
    return response;
  }();
  return Audited("list_keys", actor, "", "", std::move(out));
}

absl::StatusOr<v1::KeyMetadata> AdminService::GetKey(const v1::GetKeyRequest& r,
                                                     absl::string_view actor) {
  auto out = [&]() -> absl::StatusOr<v1::KeyMetadata> {
    ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
    return ToProto(key);
  }();
  return Audited("get_key", actor, r.key_id(), "", std::move(out));
}

absl::StatusOr<v1::SetPolicyResponse> AdminService::SetPolicy(const v1::SetPolicyRequest& r,
                                                              absl::string_view actor) {
  auto result = [&]() -> absl::StatusOr<v1::SetPolicyResponse> {
    RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
    ASSIGN_OR_RETURN(v1::ReleasePolicy policy, ParseReleasePolicy(r.policy_json()));
    ASSIGN_OR_RETURN(uint64_t version, d_.keys->SetPolicy(r.key_id(), PolicyToJson(policy)));
    v1::SetPolicyResponse out;
    out.set_policy_version(version);
    return out;
  }();
  std::string detail = result.ok() ? absl::StrCat("policy v", result->policy_version()) : "";
  return Audited("set_policy", actor, r.key_id(), detail, std::move(result));
}

absl::StatusOr<v1::GetPolicyResponse> AdminService::GetPolicy(const v1::GetPolicyRequest& r,
                                                              absl::string_view actor) {
  auto out = [&]() -> absl::StatusOr<v1::GetPolicyResponse> {
    ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
    if (key.policy_version == 0) {
      return absl::NotFoundError(absl::StrCat("key '", r.key_id(), "' has no policy"));
    }
    v1::GetPolicyResponse response;
    response.set_policy_json(key.policy_json);
    response.set_policy_version(key.policy_version);
    return response;
  }();
  return Audited("get_policy", actor, r.key_id(), "", std::move(out));
}

absl::StatusOr<v1::AttestationKeyInfo> AdminService::DoRegister(
    const v1::RegisterAttestationKeyRequest& r) {
  RETURN_IF_ERROR(ValidateName("machine", r.machine()));
  ASSIGN_OR_RETURN(TPMT_PUBLIC pub, ParseTpmtPublic(r.ak_public(), "ak_public"));
  constexpr TPMA_OBJECT kRequired =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  if ((pub.objectAttributes & kRequired) != kRequired) {
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
    const v1::RegisterAttestationKeyRequest& r, absl::string_view actor) {
  auto result = DoRegister(r);
  std::string detail = result.ok() ? absl::StrCat("machine ", r.machine(), " AK ",
                                                  HexEncode(result->ak_name().substr(2, 8)))
                                   : "";
  return Audited("register_ak", actor, "", detail, std::move(result));
}

absl::StatusOr<v1::ListAttestationKeysResponse> AdminService::ListAttestationKeys(
    const v1::ListAttestationKeysRequest&, absl::string_view actor) {
  auto out = [&]() -> absl::StatusOr<v1::ListAttestationKeysResponse> {
    ASSIGN_OR_RETURN(std::vector<RegisteredAk> aks, d_.aks->List());
    v1::ListAttestationKeysResponse response;
    for (const RegisteredAk& ak : aks) *response.add_keys() = ToProto(ak);
    return response;
  }();
  return Audited("list_aks", actor, "", "", std::move(out));
}

absl::StatusOr<v1::KeyMetadata> AdminService::DisableKey(const v1::DisableKeyRequest& r,
                                                         absl::string_view actor) {
  auto out = [&]() -> absl::StatusOr<v1::KeyMetadata> {
    RETURN_IF_ERROR(d_.keys->SetDisabled(r.key_id(), true));
    ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
    return ToProto(key);
  }();
  return Audited("disable_key", actor, r.key_id(), "disabled", std::move(out));
}

absl::StatusOr<v1::ListAuditEventsResponse> AdminService::ListAuditEvents(
    const v1::ListAuditEventsRequest& r, absl::string_view actor) {
  const int limit = r.limit() == 0 ? 100 : static_cast<int>(std::min<uint32_t>(r.limit(), 10000));
  ASSIGN_OR_RETURN(std::vector<AuditRecord> records, d_.audit->List(limit));
  v1::ListAuditEventsResponse out;
  for (const AuditRecord& a : records) {
    v1::AuditEvent* e = out.add_events();
    e->set_id(a.id);
    SetTime(e->mutable_time(), a.time);
    e->set_actor(a.actor);
    e->set_action(a.action);
    e->set_key_id(a.key_id);
    e->set_key_version(a.key_version);
    e->set_decision(a.decision);
    e->set_reason(a.reason);
  }
  return out;
}

}  // namespace kb
