#include "keybroker/ctl/commands.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "keybroker/ctl/collateral_commands.h"
#include "keybroker/ctl/kek_commands.h"
#include "keybroker/ctl/operator_commands.h"
#include "keybroker/ctl/output.h"
#include "keybroker/ctl/policy_edit_commands.h"

namespace kb {
namespace {

using Stub = AdminClient::Stub;
using Handler = absl::StatusOr<std::string> (*)(const CtlCommand&, const CtlLocalInputs&,
                                                AdminClient&);

absl::StatusOr<std::string> ReadStdin() {
  std::string data;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) data.append(buf, n);
  if (std::ferror(stdin)) {
    return absl::InternalError(absl::StrCat("cannot read stdin: ", std::strerror(errno)));
  }
  return data;
}

absl::StatusOr<std::string> ReadNonEmpty(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> read = path == "-" ? ReadStdin() : ReadFile(path);
  if (!read.ok()) {
    return absl::Status(read.status().code(), absl::StrCat(what, ": ", read.status().message()));
  }
  std::string data = std::move(read).value();
  if (data.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path == "-" ? "on stdin" : path, " is empty"));
  }
  return data;
}

// Human text from `human`, or the message as JSON.
template <typename Response>
absl::StatusOr<std::string> Render(const CtlCommand& cmd, const Response& response,
                                   std::string (*human)(const Response&)) {
  if (cmd.json) return FormatJson(response);
  return human(response);
}

absl::StatusOr<std::string> KeyCreate(const CtlCommand& cmd, const CtlLocalInputs&,
                                      AdminClient& client) {
  v1::CreateKeyRequest request;
  request.set_key_id(cmd.key_id);
  request.set_size_bytes(cmd.size_bytes);
  request.set_description(cmd.description);
  ASSIGN_OR_RETURN(v1::KeyMetadata key, client.Call(&Stub::CreateKey, request));
  return Render(cmd, key, &FormatKey);
}

absl::StatusOr<std::string> KeyList(const CtlCommand& cmd, const CtlLocalInputs&,
                                    AdminClient& client) {
  ASSIGN_OR_RETURN(v1::ListKeysResponse response,
                   client.Call(&Stub::ListKeys, v1::ListKeysRequest()));
  return Render(cmd, response, &FormatKeyTable);
}

absl::StatusOr<std::string> KeyShow(const CtlCommand& cmd, const CtlLocalInputs&,
                                    AdminClient& client) {
  v1::GetKeyRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::KeyMetadata key, client.Call(&Stub::GetKey, request));
  return Render(cmd, key, &FormatKey);
}

absl::StatusOr<std::string> KeyDisable(const CtlCommand& cmd, const CtlLocalInputs&,
                                       AdminClient& client) {
  v1::DisableKeyRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::KeyMetadata key, client.Call(&Stub::DisableKey, request));
  return Render(cmd, key, &FormatKey);
}

absl::StatusOr<std::string> PolicySet(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                      AdminClient& client) {
  v1::SetPolicyRequest request;
  request.set_key_id(cmd.key_id);
  request.set_policy_json(inputs.policy_json);
  if (cmd.expected_policy_version.has_value()) {
    request.set_expected_version(*cmd.expected_policy_version);
  }
  ASSIGN_OR_RETURN(v1::SetPolicyResponse response, client.Call(&Stub::SetPolicy, request));
  if (cmd.json) return FormatJson(response);
  return absl::StrCat("policy version ", response.policy_version(), " stored for key ", cmd.key_id,
                      "\n");
}

// The canonical policy JSON alone, so it can be edited and fed back to `policy set`.
std::string FormatPolicy(const v1::GetPolicyResponse& response) {
  const std::string& json = response.policy_json();
  if (!json.empty() && json.back() == '\n') return json;
  return json + "\n";
}

absl::StatusOr<std::string> PolicyGet(const CtlCommand& cmd, const CtlLocalInputs&,
                                      AdminClient& client) {
  v1::GetPolicyRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::GetPolicyResponse response, client.Call(&Stub::GetPolicy, request));
  return Render(cmd, response, &FormatPolicy);
}

absl::StatusOr<std::string> AkRegister(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                       AdminClient& client) {
  v1::RegisterAttestationKeyRequest request;
  request.set_machine(cmd.machine);
  request.set_ak_public(inputs.ak_public);
  ASSIGN_OR_RETURN(v1::AttestationKeyInfo ak, client.Call(&Stub::RegisterAttestationKey, request));
  return Render(cmd, ak, &FormatAttestationKey);
}

absl::StatusOr<std::string> AkList(const CtlCommand& cmd, const CtlLocalInputs&,
                                   AdminClient& client) {
  ASSIGN_OR_RETURN(v1::ListAttestationKeysResponse response,
                   client.Call(&Stub::ListAttestationKeys, v1::ListAttestationKeysRequest()));
  return Render(cmd, response, &FormatAttestationKeyTable);
}

// Pages through the matching records, newest first, until `--limit` (default 100) or, with
// `--all`, the oldest; one response holds them all (its next_before_id continues a listing
// that --limit cut).
absl::StatusOr<std::string> AuditList(const CtlCommand& cmd, const CtlLocalInputs&,
                                      AdminClient& client) {
  constexpr uint64_t kPage = 1000;
  uint64_t wanted = cmd.all ? UINT64_MAX : (cmd.limit == 0 ? 100 : cmd.limit);
  v1::ListAuditEventsRequest request;
  request.set_key_id(cmd.key_id);
  request.set_actor(cmd.actor);
  request.set_decision(cmd.decision);
  if (cmd.since.has_value()) {
    request.mutable_since()->set_seconds(absl::ToUnixSeconds(*cmd.since));
  }
  request.set_before_id(cmd.before_id);
  v1::ListAuditEventsResponse all;
  while (wanted > 0) {
    request.set_limit(static_cast<uint32_t>(std::min(wanted, kPage)));
    ASSIGN_OR_RETURN(v1::ListAuditEventsResponse page,
                     client.Call(&Stub::ListAuditEvents, request));
    wanted -= std::min<uint64_t>(wanted, page.events_size());
    for (v1::AuditEvent& e : *page.mutable_events()) *all.add_events() = std::move(e);
    all.set_next_before_id(page.next_before_id());
    if (page.next_before_id() == 0) break;
    request.set_before_id(page.next_before_id());
  }
  return Render(cmd, all, &FormatAuditEvents);
}

absl::StatusOr<std::string> KeyRotate(const CtlCommand& cmd, const CtlLocalInputs&,
                                      AdminClient& client) {
  v1::RotateKeyRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::KeyMetadata key, client.Call(&Stub::RotateKey, request));
  return Render(cmd, key, &FormatKey);
}

absl::StatusOr<std::string> KeyRetire(const CtlCommand& cmd, const CtlLocalInputs&,
                                      AdminClient& client) {
  v1::RetireKeyVersionRequest request;
  request.set_key_id(cmd.key_id);
  request.set_version(cmd.version);
  request.set_force(cmd.force);
  ASSIGN_OR_RETURN(v1::KeyMetadata key, client.Call(&Stub::RetireKeyVersion, request));
  return Render(cmd, key, &FormatKey);
}

absl::StatusOr<std::string> KeyRotationStatus(const CtlCommand& cmd, const CtlLocalInputs&,
                                              AdminClient& client) {
  v1::GetRotationStatusRequest request;
  request.set_key_id(cmd.key_id);
  ASSIGN_OR_RETURN(v1::GetRotationStatusResponse response,
                   client.Call(&Stub::GetRotationStatus, request));
  return Render(cmd, response, &FormatRotationStatus);
}

absl::StatusOr<std::string> AkRemove(const CtlCommand& cmd, const CtlLocalInputs&,
                                     AdminClient& client) {
  v1::RemoveAttestationKeyRequest request;
  auto name = HexDecode(cmd.ak_name);
  if (!name.ok()) {
    return absl::InvalidArgumentError("AK_NAME must be hex, as `keybrokerctl ak list` shows it");
  }
  request.set_ak_name(*name);
  ASSIGN_OR_RETURN(v1::AttestationKeyInfo ak, client.Call(&Stub::RemoveAttestationKey, request));
  if (cmd.json) return FormatJson(ak);
  return absl::StrCat("attestation key of machine ", ak.machine(),
                      " removed: its quotes are no longer trusted\n");
}

absl::StatusOr<std::string> MachineForget(const CtlCommand& cmd, const CtlLocalInputs&,
                                          AdminClient& client) {
  v1::ForgetMachineRequest request;
  request.set_machine(cmd.machine);
  ASSIGN_OR_RETURN(v1::ForgetMachineResponse r, client.Call(&Stub::ForgetMachine, request));
  if (cmd.json) return FormatJson(r);
  return absl::StrCat("machine ", r.machine(), " forgotten: ", r.attestation_keys_removed(),
                      " attestation key(s), ", r.confirmations_removed(),
                      " enrolment confirmation(s), ", r.offline_grants_removed(),
                      " offline grant(s) removed\n");
}

absl::StatusOr<std::string> MachineDeny(const CtlCommand& cmd, const CtlLocalInputs&,
                                        AdminClient& client) {
  v1::DenyMachineRequest request;
  request.set_machine(cmd.machine);
  request.set_reason(cmd.reason);
  ASSIGN_OR_RETURN(v1::DeniedMachine denied, client.Call(&Stub::DenyMachine, request));
  if (cmd.json) return FormatJson(denied);
  return absl::StrCat("machine ", denied.machine(), " denied: no key is released to it\n");
}

absl::StatusOr<std::string> MachineAllow(const CtlCommand& cmd, const CtlLocalInputs&,
                                         AdminClient& client) {
  v1::AllowMachineRequest request;
  request.set_machine(cmd.machine);
  ASSIGN_OR_RETURN(v1::AllowMachineResponse response, client.Call(&Stub::AllowMachine, request));
  if (cmd.json) return FormatJson(response);
  return absl::StrCat("machine ", response.machine(),
                      response.was_denied() ? " allowed again\n" : " was not denied\n");
}

absl::StatusOr<std::string> MachineList(const CtlCommand& cmd, const CtlLocalInputs&,
                                        AdminClient& client) {
  ASSIGN_OR_RETURN(v1::ListDeniedMachinesResponse response,
                   client.Call(&Stub::ListDeniedMachines, v1::ListDeniedMachinesRequest()));
  return Render(cmd, response, &FormatDeniedMachines);
}

// `audit verify`: a broken chain prints the report and fails with exit status 1.
absl::StatusOr<CtlOutput> AuditVerify(const CtlCommand& cmd, AdminClient& client) {
  ASSIGN_OR_RETURN(v1::VerifyAuditChainResponse response,
                   client.Call(&Stub::VerifyAuditChain, v1::VerifyAuditChainRequest()));
  CtlOutput out;
  if (cmd.json) {
    ASSIGN_OR_RETURN(out.text, FormatJson(response));
  } else if (response.ok()) {
    out.text = absl::StrCat("audit chain ok: ", response.records(), " records, head ",
                            response.head_hash().empty() ? "-" : response.head_hash(), "\n");
  }
  if (!response.ok()) {
    out.failure = absl::DataLossError(absl::StrCat(
        "audit chain broken at record ", response.first_bad_id(), ": ", response.problem()));
  }
  return out;
}

struct HandlerEntry {
  CtlCommandKind kind;
  Handler run;
};

constexpr HandlerEntry kHandlers[] = {
    {CtlCommandKind::kKeyCreate, &KeyCreate},
    {CtlCommandKind::kKeyList, &KeyList},
    {CtlCommandKind::kKeyShow, &KeyShow},
    {CtlCommandKind::kKeyDisable, &KeyDisable},
    {CtlCommandKind::kPolicySet, &PolicySet},
    {CtlCommandKind::kPolicyGet, &PolicyGet},
    {CtlCommandKind::kAkRegister, &AkRegister},
    {CtlCommandKind::kAkList, &AkList},
    {CtlCommandKind::kAkRemove, &AkRemove},
    {CtlCommandKind::kAuditList, &AuditList},
    {CtlCommandKind::kKeyRotate, &KeyRotate},
    {CtlCommandKind::kKeyRetire, &KeyRetire},
    {CtlCommandKind::kKeyRotationStatus, &KeyRotationStatus},
    {CtlCommandKind::kMachineDeny, &MachineDeny},
    {CtlCommandKind::kMachineAllow, &MachineAllow},
    {CtlCommandKind::kMachineList, &MachineList},
    {CtlCommandKind::kMachineForget, &MachineForget},
};

}  // namespace

absl::StatusOr<CtlLocalInputs> LoadCtlLocalInputs(const CtlCommand& cmd) {
  CtlLocalInputs inputs;
  if (cmd.kind == CtlCommandKind::kPolicySet) {
    ASSIGN_OR_RETURN(inputs.policy_json, ReadNonEmpty(cmd.policy_file, "policy file"));
  }
  if (cmd.kind == CtlCommandKind::kPolicyTest) {
    if (!cmd.policy_file.empty()) {
      ASSIGN_OR_RETURN(inputs.policy_json, ReadNonEmpty(cmd.policy_file, "--policy file"));
    }
    for (const std::string& path : cmd.evidence_files) {
      ASSIGN_OR_RETURN(std::string data, ReadNonEmpty(path, "--evidence file"));
      ASSIGN_OR_RETURN(v1::Evidence evidence, ParseEvidenceFile(path, data));
      inputs.evidence.emplace_back(path, std::move(evidence));
    }
  }
  if (cmd.kind == CtlCommandKind::kPolicyAddFromEvidence) {
    for (const std::string& path : cmd.evidence_files) {
      ASSIGN_OR_RETURN(std::string data, ReadNonEmpty(path, "--evidence file"));
      ASSIGN_OR_RETURN(v1::Evidence evidence, ParseEvidenceFile(path, data));
      inputs.evidence.emplace_back(path, std::move(evidence));
    }
  }
  if (cmd.kind == CtlCommandKind::kAkRegister) {
    ASSIGN_OR_RETURN(inputs.ak_public, ReadNonEmpty(cmd.ak_public_file, "--ak-public file"));
  }
  return inputs;
}

absl::StatusOr<CtlOutput> RunCtlCommand(const CtlCommand& cmd, const CtlLocalInputs& inputs,
                                        AdminClient& client) {
  if (cmd.kind == CtlCommandKind::kAuditVerify) return AuditVerify(cmd, client);
  if (cmd.kind == CtlCommandKind::kPolicyTest) return RunPolicyTest(cmd, inputs, client);
  if (IsPolicyEditCommand(cmd.kind)) return RunPolicyEdit(cmd, inputs, client);
  if (IsCollateralCommand(cmd.kind)) return RunCollateralCommand(cmd, client);
  if (IsKekCommand(cmd.kind)) return RunKekCommand(cmd, client);
  if (cmd.kind == CtlCommandKind::kOfflineRevoke || cmd.kind == CtlCommandKind::kOfflineRestore ||
      cmd.kind == CtlCommandKind::kOfflineList) {
    ASSIGN_OR_RETURN(std::string text,
                     cmd.kind == CtlCommandKind::kOfflineRevoke    ? RunOfflineRevoke(cmd, client)
                     : cmd.kind == CtlCommandKind::kOfflineRestore ? RunOfflineRestore(cmd, client)
                                                                   : RunOfflineList(cmd, client));
    return CtlOutput{std::move(text), absl::OkStatus()};
  }
  for (const HandlerEntry& h : kHandlers) {
    if (h.kind != cmd.kind) continue;
    ASSIGN_OR_RETURN(std::string text, h.run(cmd, inputs, client));
    return CtlOutput{std::move(text), absl::OkStatus()};
  }
  return absl::InvalidArgumentError("command has no broker call");
}

}  // namespace kb
