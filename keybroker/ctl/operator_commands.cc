// keybrokerctl `policy test` (release dry run) and `offline revoke|restore|list`.
#include "keybroker/ctl/operator_commands.h"

#include <google/protobuf/util/json_util.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "keybroker/ctl/output.h"

namespace kb {
namespace {

using Stub = AdminClient::Stub;

std::string FormatTestResult(const std::string& path, const v1::TestPolicyResponse& r) {
  std::string out = absl::StrCat(path, ": ", r.decision(), "\n");
  if (r.evidence_verified()) {
    absl::StrAppend(&out, "  evidence: ", r.evidence_type(), ", machine ", r.machine(),
                    ", verified; binding: ", r.binding(), "\n");
  } else {
    absl::StrAppend(&out, "  evidence: NOT verified; binding: ", r.binding(), "\n");
  }
  absl::StrAppend(&out, "  policy: ",
                  r.candidate_policy() ? std::string("candidate (not stored)")
                                       : absl::StrCat("version ", r.policy_version()),
                  "\n");
  if (r.decision() == "allow") {
    absl::StrAppend(&out, "  rule: ", r.rule(), ", offline_boots ", r.offline_boots(), "\n");
  } else {
    absl::StrAppend(&out, "  reason: ", r.reason(), "\n");
  }
  const std::map<std::string, std::string> claims(r.claims().begin(), r.claims().end());
  if (!claims.empty()) absl::StrAppend(&out, "  claims:\n");
  for (const auto& [name, value] : claims) absl::StrAppend(&out, "    ", name, " = ", value, "\n");
  return out;
}

}  // namespace

absl::StatusOr<v1::Evidence> ParseEvidenceFile(const std::string& path, const std::string& data) {
  v1::Evidence evidence;
  const size_t first = data.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && data[first] == '{') {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(data, &evidence, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--evidence ", path, ": not a kb.v1.Evidence in JSON: ", std::string(status.message())));
    }
  } else if (!evidence.ParseFromString(data)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--evidence ", path, ": neither a binary nor a JSON kb.v1.Evidence"));
  }
  if (evidence.kind_case() == v1::Evidence::KIND_NOT_SET) {
    return absl::InvalidArgumentError(absl::StrCat("--evidence ", path, ": holds no evidence"));
  }
  return evidence;
}

absl::StatusOr<CtlOutput> RunPolicyTest(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        AdminClient& client) {
  CtlOutput out;
  std::vector<std::string> denied;
  for (const auto& [path, evidence] : inputs.evidence) {
    v1::TestPolicyRequest request;
    request.set_key_id(cmd.key_id);
    request.set_policy_json(inputs.policy_json);
    *request.mutable_evidence() = evidence;
    ASSIGN_OR_RETURN(v1::TestPolicyResponse response, client.Call(&Stub::TestPolicy, request));
    if (cmd.json) {
      ASSIGN_OR_RETURN(std::string json, FormatJson(response));
      absl::StrAppend(&out.text, json);
    } else {
      absl::StrAppend(&out.text, FormatTestResult(path, response));
    }
    if (response.decision() != "allow") denied.push_back(path);
  }
  if (!denied.empty()) {
    out.failure = absl::PermissionDeniedError(
        absl::StrCat("policy test: would deny ", absl::StrJoin(denied, ", ")));
  }
  return out;
}

absl::StatusOr<std::string> RunOfflineRevoke(const CtlCommand& cmd, AdminClient& client) {
  v1::RevokeOfflineGrantRequest request;
  request.set_key_id(cmd.key_id);
  request.set_machine(cmd.machine);
  request.set_reason(cmd.reason);
  ASSIGN_OR_RETURN(v1::OfflineRevocation revoked, client.Call(&Stub::RevokeOfflineGrant, request));
  if (cmd.json) return FormatJson(revoked);
  return absl::StrCat("offline grace of key ", revoked.key_id(), " revoked for ",
                      revoked.machine().empty() ? "every machine" : revoked.machine(),
                      ": releases grant 0 offline boots\n");
}

absl::StatusOr<std::string> RunOfflineRestore(const CtlCommand& cmd, AdminClient& client) {
  v1::RestoreOfflineGrantRequest request;
  request.set_key_id(cmd.key_id);
  request.set_machine(cmd.machine);
  ASSIGN_OR_RETURN(v1::RestoreOfflineGrantResponse response,
                   client.Call(&Stub::RestoreOfflineGrant, request));
  if (cmd.json) return FormatJson(response);
  return absl::StrCat("offline grace of key ", response.key_id(), " for ",
                      response.machine().empty() ? "every machine" : response.machine(),
                      response.was_revoked() ? " restored\n" : " was not revoked\n");
}

absl::StatusOr<std::string> RunOfflineList(const CtlCommand& cmd, AdminClient& client) {
  v1::ListOfflineGrantsRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::ListOfflineGrantsResponse response,
                   client.Call(&Stub::ListOfflineGrants, request));
  if (cmd.json) return FormatJson(response);
  return FormatOfflineGrants(response);
}

}  // namespace kb
