#include "keybroker/verifiers/api/check.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kb {

namespace {
constexpr absl::string_view kCheckPayload = "type.keybroker/evidence-check";
}  // namespace

absl::Status CheckFailed(absl::string_view check, absl::StatusCode code, absl::string_view detail) {
  absl::Status status(code, absl::StrCat("evidence check '", check, "' failed: ", detail));
  status.SetPayload(kCheckPayload, absl::Cord(check));
  return status;
}

absl::Status AkNotRegisteredError(absl::string_view ak_name) {
  // The name is nameAlg (2 bytes) then the digest; 8 bytes of the digest identify it.
  const absl::string_view digest = ak_name.size() > 2 ? ak_name.substr(2, 8) : ak_name;
  return CheckFailed("ak_trusted", absl::StatusCode::kUnauthenticated,
                     absl::StrCat("AK ", HexEncode(digest), "... is not registered"));
}

std::string FailedCheck(const absl::Status& status) {
  const auto check = status.GetPayload(kCheckPayload);
  return check.has_value() ? std::string(*check) : std::string();
}

}  // namespace kb
