// keybrokerctl `policy show|add-rule|remove-rule|add-value|remove-value|set-pcr|unset-pcr|
// set-min-tcb|add-from-evidence`: read the stored policy, edit it, store it compare-and-set.
#include "keybroker/ctl/policy_edit_commands.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "keybroker/ctl/output.h"
#include "keybroker/ctl/policy_capture.h"
#include "keybroker/ctl/policy_edit.h"
#include "keybroker/ctl/policy_show.h"

namespace kb {
namespace {

using Stub = AdminClient::Stub;
using K = CtlCommandKind;
using Changes = std::vector<std::string>;

constexpr char kLocalErrorPayload[] = "kb.ctl/local-error";

// A TestPolicy dry run needs a policy; a key without one gets this candidate (never stored).
constexpr char kProbePolicy[] =
    R"({"allow":[{"name":"keybrokerctl-claims-probe","machines":["-"]}]})";

// A key's policy as read, with the version a compare-and-set store expects.
struct StoredPolicy {
  v1::ReleasePolicy policy;
  uint64_t version = 0;  // 0: the key has no policy yet
};

// The command's arguments, checked before any broker call.
struct EditArgs {
  PolicyClaim claim;
  std::vector<std::string> values;   // normalised for `claim`
  TcbComponents tcb;                 // set-min-tcb
  std::vector<PolicyClaim> capture;  // add-from-evidence --claims
};

template <typename T>
absl::StatusOr<T> Local(absl::StatusOr<T> result) {
  if (!result.ok()) return LocalCtlError(result.status());
  return result;
}

absl::StatusOr<v1::ReleasePolicy> ParseStoredPolicy(const std::string& key_id,
                                                    const std::string& json) {
  v1::ReleasePolicy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // never drop a field this keybrokerctl does not know
  auto status = google::protobuf::util::JsonStringToMessage(json, &policy, options);
  if (!status.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot edit the policy of key '", key_id, "' (a newer keybrokerctl may ",
                     "be needed): ", std::string(status.message())));
  }
  return policy;
}

absl::StatusOr<StoredPolicy> FetchPolicy(const std::string& key_id, AdminClient& client) {
  v1::GetKeyRequest key_request;
  key_request.set_key_id(key_id);
  ASSIGN_OR_RETURN(v1::KeyMetadata key, client.Call(&Stub::GetKey, key_request));
  StoredPolicy stored;
  if (key.policy_version() == 0) return stored;
  v1::GetPolicyRequest request;
  request.set_key_id(key_id);
  ASSIGN_OR_RETURN(v1::GetPolicyResponse response, client.Call(&Stub::GetPolicy, request));
  ASSIGN_OR_RETURN(stored.policy, ParseStoredPolicy(key_id, response.policy_json()));
  stored.version = response.policy_version();
  return stored;
}

absl::StatusOr<v1::SetPolicyResponse> StorePolicy(const std::string& key_id,
                                                  const StoredPolicy& edited, AdminClient& client) {
  v1::SetPolicyRequest request;
  request.set_key_id(key_id);
  request.set_expected_version(edited.version);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(edited.policy,
                                                            request.mutable_policy_json(), options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the policy: ", status.ToString()));
  }
  return client.Call(&Stub::SetPolicy, request);
}

absl::StatusOr<EditArgs> PrepareArgs(const CtlCommand& cmd) {
  const PolicyEditArgs& a = cmd.policy_edit;
  EditArgs args;
  if (cmd.kind == K::kPolicySetPcr || cmd.kind == K::kPolicyUnsetPcr) {
    ASSIGN_OR_RETURN(args.claim, ParsePolicyClaim(absl::StrCat("pcr:", a.bank, ":", *a.index)));
  } else if (!a.claim.empty()) {
    ASSIGN_OR_RETURN(args.claim, ParsePolicyClaim(a.claim));
  }
  for (const std::string& v : a.values) {
    ASSIGN_OR_RETURN(std::string value, NormalizeClaimValue(args.claim, v));
    args.values.push_back(std::move(value));
  }
  if (cmd.kind == K::kPolicySetMinTcb) {
    ASSIGN_OR_RETURN(args.tcb, ParseTcbComponents(a.tcb));
  }
  if (cmd.kind == K::kPolicyAddFromEvidence) {
    if (a.new_rule && a.rule.has_value()) {
      return absl::InvalidArgumentError("--rule and --new-rule are exclusive");
    }
    if (!a.name.empty() && !a.new_rule) {
      return absl::InvalidArgumentError("--name names a new rule: it needs --new-rule");
    }
    ASSIGN_OR_RETURN(args.capture, ParseCaptureList(a.claims));
  }
  return args;
}

// Adds (or removes) every value of `args` to rule `rule`; describes what changed.
absl::StatusOr<Changes> EditValues(const CtlCommand& cmd, const EditArgs& args,
                                   v1::ReleasePolicy& policy, int rule) {
  Changes changes;
  const std::string where = absl::StrCat(" (rule ", DescribeRule(policy, rule), ")");
  for (const std::string& value : args.values) {
    if (cmd.kind == K::kPolicyRemoveValue) {
      RETURN_IF_ERROR(RemoveClaimValue(policy, rule, args.claim, value));
      changes.push_back(absl::StrCat("removed ", args.claim.name, " ", value, where));
    } else if (AddClaimValue(policy, rule, args.claim, value)) {
      changes.push_back(absl::StrCat("added ", args.claim.name, " ", value, where));
    }
  }
  return changes;
}

// The claims the broker verified in one evidence file (a TestPolicy dry run).
absl::StatusOr<VerifiedClaims> VerifyEvidence(const CtlCommand& cmd, bool has_policy,
                                              const std::string& path, const v1::Evidence& evidence,
                                              AdminClient& client) {
  v1::TestPolicyRequest request;
  request.set_key_id(cmd.key_id);
  if (!has_policy) request.set_policy_json(kProbePolicy);
  *request.mutable_evidence() = evidence;
  ASSIGN_OR_RETURN(v1::TestPolicyResponse response, client.Call(&Stub::TestPolicy, request));
  if (!response.evidence_verified()) {
    return absl::UnauthenticatedError(
        absl::StrCat("evidence ", path, " did not verify; nothing changed: ", response.reason()));
  }
  VerifiedClaims verified{path, response.evidence_type(), response.machine(), {}};
  verified.claims.insert(response.claims().begin(), response.claims().end());
  return verified;
}

absl::StatusOr<Changes> AddFromEvidence(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        const EditArgs& args, StoredPolicy& stored,
                                        AdminClient& client) {
  // The rule first: a wrong --rule costs no dry run.
  const bool has_policy = stored.version != 0;
  Changes changes;
  int rule = 0;
  if (cmd.policy_edit.new_rule) {
    ASSIGN_OR_RETURN(rule, Local(AddRule(stored.policy, cmd.policy_edit.name, {})));
    changes.push_back(absl::StrCat("added rule ", DescribeRule(stored.policy, rule)));
  } else {
    ASSIGN_OR_RETURN(rule, Local(ResolveRule(stored.policy, cmd.policy_edit.rule)));
  }
  std::vector<VerifiedClaims> verified;
  for (const auto& [path, evidence] : inputs.evidence) {
    ASSIGN_OR_RETURN(VerifiedClaims claims,
                     VerifyEvidence(cmd, has_policy, path, evidence, client));
    verified.push_back(std::move(claims));
  }
  for (const VerifiedClaims& v : verified) {
    ASSIGN_OR_RETURN(Changes added,
                     Local(ApplyVerifiedClaims(stored.policy, rule, args.capture, v)));
    changes.insert(changes.end(), added.begin(), added.end());
  }
  return changes;
}

absl::StatusOr<Changes> AddNewRule(const CtlCommand& cmd, const EditArgs& args,
                                   v1::ReleasePolicy& policy) {
  const PolicyEditArgs& a = cmd.policy_edit;
  ASSIGN_OR_RETURN(int rule, AddRule(policy, a.name, a.evidence_types));
  Changes changes = {absl::StrCat("added rule ", DescribeRule(policy, rule))};
  ASSIGN_OR_RETURN(Changes values, EditValues(cmd, args, policy, rule));
  changes.insert(changes.end(), values.begin(), values.end());
  return changes;
}

// The edits that need only the policy and the arguments.
absl::StatusOr<Changes> EditPolicy(const CtlCommand& cmd, const EditArgs& args,
                                   v1::ReleasePolicy& policy) {
  if (cmd.kind == K::kPolicyAddRule) return AddNewRule(cmd, args, policy);
  ASSIGN_OR_RETURN(int rule, ResolveRule(policy, cmd.policy_edit.rule));
  const std::string label = DescribeRule(policy, rule);
  const std::string where = absl::StrCat(" (rule ", label, ")");
  const PolicyClaim& pcr = args.claim;
  switch (cmd.kind) {
    case K::kPolicyRemoveRule:
      RemoveRule(policy, rule);
      return Changes{absl::StrCat("removed rule ", label)};
    case K::kPolicySetPcr:
      SetPcr(policy, rule, pcr.bank, pcr.index, args.values);
      return Changes{
          absl::StrCat("set ", pcr.name, " to ", absl::StrJoin(args.values, ", "), where)};
    case K::kPolicyUnsetPcr:
      RETURN_IF_ERROR(UnsetPcr(policy, rule, pcr.bank, pcr.index));
      return Changes{absl::StrCat("removed the requirement on ", pcr.name, where)};
    case K::kPolicySetMinTcb:
      if (!SetMinTcb(policy, rule, args.tcb)) return Changes{};
      return Changes{absl::StrCat("set snp.min_reported_tcb ", cmd.policy_edit.tcb, where)};
    default:
      return EditValues(cmd, args, policy, rule);
  }
}

absl::StatusOr<CtlOutput> Show(const CtlCommand& cmd, AdminClient& client) {
  v1::GetPolicyRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::GetPolicyResponse response, client.Call(&Stub::GetPolicy, request));
  ASSIGN_OR_RETURN(v1::ReleasePolicy policy, ParseStoredPolicy(cmd.key_id, response.policy_json()));
  CtlOutput out;
  if (cmd.json) {
    ASSIGN_OR_RETURN(out.text, FormatJson(policy));
  } else {
    out.text = FormatPolicyTable(cmd.key_id, response.policy_version(), policy);
  }
  return out;
}

absl::StatusOr<CtlOutput> Report(const CtlCommand& cmd, const StoredPolicy& before,
                                 const StoredPolicy& after, const Changes& changes,
                                 AdminClient& client) {
  CtlOutput out;
  if (after.policy.SerializeAsString() == before.policy.SerializeAsString()) {
    out.text = absl::StrCat("policy of key ", cmd.key_id, " unchanged (version ", before.version,
                            "): every value was there already\n");
    return out;
  }
  ASSIGN_OR_RETURN(v1::SetPolicyResponse stored, StorePolicy(cmd.key_id, after, client));
  if (cmd.json) {
    ASSIGN_OR_RETURN(out.text, FormatJson(stored));
    return out;
  }
  out.text = absl::StrCat("policy version ", stored.policy_version(), " stored for key ",
                          cmd.key_id, " (was ", before.version, "):\n");
  for (const std::string& c : changes) absl::StrAppend(&out.text, "  ", c, "\n");
  return out;
}

}  // namespace

bool IsPolicyEditCommand(CtlCommandKind kind) {
  switch (kind) {
    case K::kPolicyShow:
    case K::kPolicyAddRule:
    case K::kPolicyRemoveRule:
    case K::kPolicyAddValue:
    case K::kPolicyRemoveValue:
    case K::kPolicySetPcr:
    case K::kPolicyUnsetPcr:
    case K::kPolicySetMinTcb:
    case K::kPolicyAddFromEvidence:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<CtlOutput> RunPolicyEdit(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        AdminClient& client) {
  if (cmd.kind == K::kPolicyShow) return Show(cmd, client);
  ASSIGN_OR_RETURN(EditArgs args, Local(PrepareArgs(cmd)));
  ASSIGN_OR_RETURN(const StoredPolicy before, FetchPolicy(cmd.key_id, client));
  StoredPolicy after = before;
  Changes changes;
  if (cmd.kind == K::kPolicyAddFromEvidence) {
    ASSIGN_OR_RETURN(changes, AddFromEvidence(cmd, inputs, args, after, client));
  } else {
    ASSIGN_OR_RETURN(changes, Local(EditPolicy(cmd, args, after.policy)));
  }
  return Report(cmd, before, after, changes, client);
}

absl::Status LocalCtlError(absl::Status status) {
  status.SetPayload(kLocalErrorPayload, absl::Cord("1"));
  return status;
}

bool IsLocalCtlError(const absl::Status& status) {
  return status.GetPayload(kLocalErrorPayload).has_value();
}

}  // namespace kb
