#include "keybroker/ctl/kek_commands.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "keybroker/ctl/output.h"

namespace kb {
namespace {

using Stub = AdminClient::Stub;

// The KEKs that no key version needs any more and that the config may drop.
std::string Unneeded(const google::protobuf::RepeatedPtrField<v1::KekInfo>& keks) {
  std::vector<std::string> names;
  for (const v1::KekInfo& k : keks) {
    if (k.configured() == "previous" && k.key_versions() == 0) names.push_back(k.description());
  }
  if (names.empty()) return "";
  return absl::StrCat("no key version needs ", absl::StrJoin(names, ", "),
                      " any more: remove it from previous_keks and restart the broker(s)\n");
}

absl::StatusOr<CtlOutput> Rotate(const CtlCommand& cmd, AdminClient& client) {
  v1::RotateKekRequest request;
  request.set_max_versions(cmd.limit);
  CtlOutput out;
  v1::RotateKekResponse step;
  do {
    ASSIGN_OR_RETURN(step, client.Call(&Stub::RotateKek, request));
    if (!cmd.json) {
      absl::StrAppend(&out.text, "re-sealed ", step.rewrapped(), " key version(s), ",
                      step.remaining(), " remaining\n");
    }
    if (step.rewrapped() == 0 && step.remaining() > 0) {
      out.failure = absl::FailedPreconditionError(
          absl::StrCat(step.remaining(),
                       " key version(s) are not under the current KEK and none could be "
                       "re-sealed: see `keybrokerctl kek status`"));
      break;
    }
  } while (step.remaining() > 0);
  if (cmd.json) {
    ASSIGN_OR_RETURN(out.text, FormatJson(step));
    return out;
  }
  absl::StrAppend(&out.text, FormatKekTable(step.keks()), Unneeded(step.keks()));
  return out;
}

}  // namespace

bool IsKekCommand(CtlCommandKind kind) {
  return kind == CtlCommandKind::kKekStatus || kind == CtlCommandKind::kKekRotate;
}

absl::StatusOr<CtlOutput> RunKekCommand(const CtlCommand& cmd, AdminClient& client) {
  if (cmd.kind == CtlCommandKind::kKekRotate) return Rotate(cmd, client);
  ASSIGN_OR_RETURN(v1::ListKeksResponse response,
                   client.Call(&Stub::ListKeks, v1::ListKeksRequest()));
  if (cmd.json) {
    ASSIGN_OR_RETURN(std::string json, FormatJson(response));
    return CtlOutput{std::move(json), absl::OkStatus()};
  }
  return CtlOutput{absl::StrCat(FormatKekTable(response.keks()), Unneeded(response.keks())),
                   absl::OkStatus()};
}

std::string FormatKekTable(const google::protobuf::RepeatedPtrField<v1::KekInfo>& keks) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::KekInfo& k : keks) {
    rows.push_back({absl::StrCat(k.id()), k.configured(), absl::StrCat(k.key_versions()),
                    k.description(), k.fingerprint()});
  }
  return RenderTable({"ID", "CONFIGURED", "KEY-VERSIONS", "DESCRIPTION", "FINGERPRINT"}, rows);
}

}  // namespace kb
