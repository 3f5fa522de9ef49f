// KekAdmin: the key-encryption keys (keybrokerctl kek status / rotate).
#include "keybroker/admin/kek_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr uint32_t kDefaultBatch = 500;
constexpr uint32_t kMaxBatch = 10000;

absl::StatusOr<google::protobuf::RepeatedPtrField<v1::KekInfo>> KekInfos(KekRotation& rotation) {
  ASSIGN_OR_RETURN(std::vector<KekUse> keks, rotation.ListKeks());
  google::protobuf::RepeatedPtrField<v1::KekInfo> out;
  for (const KekUse& k : keks) {
    v1::KekInfo& info = *out.Add();
    info.set_id(k.id);
    info.set_description(k.description);
    info.set_fingerprint(k.fingerprint);
    info.set_key_versions(k.key_versions);
    info.set_configured(k.configured == KekUse::Configured::kCurrent    ? "current"
                        : k.configured == KekUse::Configured::kPrevious ? "previous"
                                                                        : "not configured");
  }
  return out;
}

}  // namespace

absl::StatusOr<v1::ListKeksResponse> KekAdmin::ListKeks(const v1::ListKeksRequest&, Caller caller) {
  AdminCall call{"list_keks", caller, Permission::kReadMetadata, ""};
  call.audit_success = false;
  return d_.run->Run<v1::ListKeksResponse>(
      call, [&](AdminOutcome&) -> absl::StatusOr<v1::ListKeksResponse> {
        v1::ListKeksResponse out;
        ASSIGN_OR_RETURN(*out.mutable_keks(), KekInfos(*d_.rotation));
        return out;
      });
}

absl::StatusOr<v1::RotateKekResponse> KekAdmin::RotateKek(const v1::RotateKekRequest& r,
                                                          Caller caller) {
  return d_.run->Run<v1::RotateKekResponse>(
      {"rotate_kek", caller, Permission::kManage, ""},
      [&](AdminOutcome& outcome) -> absl::StatusOr<v1::RotateKekResponse> {
        const uint32_t batch =
            r.max_versions() == 0 ? kDefaultBatch : std::min(r.max_versions(), kMaxBatch);
        ASSIGN_OR_RETURN(RewrapProgress progress, d_.rotation->RewrapUnderCurrentKek(batch));
        v1::RotateKekResponse out;
        out.set_rewrapped(progress.rewrapped);
        out.set_remaining(progress.remaining);
        ASSIGN_OR_RETURN(*out.mutable_keks(), KekInfos(*d_.rotation));
        outcome.detail = absl::StrCat("re-sealed ", progress.rewrapped,
                                      " key version(s) under the current KEK, ", progress.remaining,
                                      " remaining");
        return out;
      });
}

}  // namespace kb
