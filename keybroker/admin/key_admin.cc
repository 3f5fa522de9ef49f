// KeyAdmin: creating, reading, disabling and rotating keys.
#include "keybroker/admin/key_admin.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/admin/admin_protos.h"
#include "keybroker/service/validation.h"

namespace kb {

absl::StatusOr<v1::KeyMetadata> KeyAdmin::Metadata(absl::string_view key_id) {
  ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(key_id));
  ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions, d_.keys->ListVersions(key_id));
  return ToProto(key, versions);
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::DoCreateKey(const v1::CreateKeyRequest& r) {
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
  record.created_at = d_.run->clock().Now();
  RETURN_IF_ERROR(d_.keys->CreateKey(record, material));
  return Metadata(r.key_id());
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::CreateKey(const v1::CreateKeyRequest& r, Caller caller) {
  return d_.run->Run<v1::KeyMetadata>({"create_key", caller, Permission::kManage, r.key_id()},
                                      [&](AdminOutcome& o) {
                                        o.detail = "created version 1";
                                        o.key_version = 1;
                                        return DoCreateKey(r);
                                      });
}

absl::StatusOr<v1::ListKeysResponse> KeyAdmin::ListKeys(const v1::ListKeysRequest&, Caller caller) {
  return d_.run->Run<v1::ListKeysResponse>(
      {"list_keys", caller, Permission::kReadMetadata, ""},
      [&](AdminOutcome&) -> absl::StatusOr<v1::ListKeysResponse> {
        ASSIGN_OR_RETURN(std::vector<KeyRecord> keys, d_.keys->ListKeys());
        v1::ListKeysResponse response;
        for (const KeyRecord& k : keys) {
          ASSIGN_OR_RETURN(std::vector<KeyVersionRecord> versions, d_.keys->ListVersions(k.key_id));
          *response.add_keys() = ToProto(k, versions);
        }
        return response;
      });
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::GetKey(const v1::GetKeyRequest& r, Caller caller) {
  return d_.run->Run<v1::KeyMetadata>({"get_key", caller, Permission::kReadMetadata, r.key_id()},
                                      [&](AdminOutcome&) { return Metadata(r.key_id()); });
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::DisableKey(const v1::DisableKeyRequest& r,
                                                     Caller caller) {
  return d_.run->Run<v1::KeyMetadata>({"disable_key", caller, Permission::kOperate, r.key_id()},
                                      [&](AdminOutcome& o) -> absl::StatusOr<v1::KeyMetadata> {
                                        RETURN_IF_ERROR(d_.keys->SetDisabled(r.key_id(), true));
                                        o.detail = "disabled";
                                        return Metadata(r.key_id());
                                      });
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::DoRotate(const v1::RotateKeyRequest& r, AdminOutcome& o) {
  RETURN_IF_ERROR(ValidateName("key_id", r.key_id()));
  ASSIGN_OR_RETURN(KeyRecord key, d_.keys->GetKey(r.key_id()));
  ASSIGN_OR_RETURN(SecretBytes material, RandomSecret(key.size_bytes));
  const uint32_t next = key.latest_version + 1;
  RETURN_IF_ERROR(d_.keys->AddVersion(r.key_id(), next, material, d_.run->clock().Now()));
  o.key_version = next;
  o.detail = absl::StrCat("created version ", next);
  return Metadata(r.key_id());
}

absl::StatusOr<v1::KeyMetadata> KeyAdmin::RotateKey(const v1::RotateKeyRequest& r, Caller caller) {
  return d_.run->Run<v1::KeyMetadata>({"rotate_key", caller, Permission::kOperate, r.key_id()},
                                      [&](AdminOutcome& o) { return DoRotate(r, o); });
}

}  // namespace kb
