#include "unlocker/exit/exit_codes.h"

#include <string>

#include "absl/strings/numbers.h"

namespace kb {
namespace {
constexpr char kPayloadUrl[] = "type.keybroker.dev/kbunlock.exit_code";
}  // namespace

absl::Status WithExitCode(absl::Status status, ExitCode code) {
  if (status.ok() || status.GetPayload(kPayloadUrl).has_value()) return status;
  status.SetPayload(kPayloadUrl, absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

const char* ExitCodeName(ExitCode code) {
  switch (code) {
    case ExitCode::kOk:
      return "ok";
    case ExitCode::kInternal:
      return "internal error";
    case ExitCode::kUsage:
      return "usage or configuration error";
    case ExitCode::kBrokerUnreachable:
      return "broker unreachable";
    case ExitCode::kDenied:
      return "denied by broker";
    case ExitCode::kTpmUnavailable:
      return "TPM unavailable";
    case ExitCode::kNoToken:
      return "no keybroker token";
    case ExitCode::kVolumeError:
      return "volume error";
    case ExitCode::kWrongKey:
      return "key does not open the keyslot";
  }
  return "error";
}

ExitCode ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return ExitCode::kOk;
  auto payload = status.GetPayload(kPayloadUrl);
  int code = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &code)) {
    return ExitCode::kInternal;
  }
  return static_cast<ExitCode>(code);
}

}  // namespace kb
