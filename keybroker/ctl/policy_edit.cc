#include "keybroker/ctl/policy_edit.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "keybroker/policy/tcb_status_names.h"
#include "keybroker/verifiers/api/evidence_types.h"

namespace kb {
namespace {

using Kind = PolicyClaim::Kind;
using Values = google::protobuf::RepeatedPtrField<std::string>;

constexpr char kKnownClaims[] =
    "snp.measurement, snp.host_data, snp.reported_tcb, tdx.mrtd, tdx.rtmr0..tdx.rtmr3, "
    "tdx.tcb_status, pcr:BANK:INDEX, machines, evidence_types";

size_t PcrDigestSize(absl::string_view bank) {
  if (bank == "sha1") return 20;
  if (bank == "sha256") return 32;
  if (bank == "sha384") return 48;
  return 0;
}

// The size in bytes of a hex-valued claim; 0 for claims whose values are names.
size_t ValueSize(const PolicyClaim& claim) {
  switch (claim.kind) {
    case Kind::kSnpMeasurement:
    case Kind::kTdxMrtd:
    case Kind::kTdxRtmr:
      return 48;
    case Kind::kSnpHostData:
      return 32;
    case Kind::kPcr:
      return PcrDigestSize(claim.bank);
    default:
      return 0;
  }
}

// A value in a message: at most 24 characters of it.
std::string Shown(absl::string_view value) {
  if (value.size() <= 24) return std::string(value);
  return absl::StrCat(value.substr(0, 16), "...", value.substr(value.size() - 4));
}

absl::StatusOr<PolicyClaim> ParsePcrClaim(absl::string_view name) {
  // "pcr:sha256:7" or "pcr.sha256:7" (the form the verified claims use).
  std::vector<std::string> parts = absl::StrSplit(name.substr(4), ':');
  PolicyClaim claim{Kind::kPcr};
  if (parts.size() != 2 || PcrDigestSize(parts[0]) == 0 ||
      !absl::SimpleAtoi(parts[1], &claim.index) || claim.index > 23) {
    return absl::InvalidArgumentError(
        absl::StrCat("claim '", name,
                     "' is not a PCR: use pcr:BANK:INDEX with BANK sha1, sha256 or sha384 and "
                     "INDEX 0..23, e.g. pcr:sha256:7"));
  }
  claim.bank = parts[0];
  claim.name = absl::StrCat("pcr:", claim.bank, ":", claim.index);
  return claim;
}

// The claim's allowed values in `rule`; created when `create`, else null when absent.
Values* ValuesOf(v1::PolicyRule& rule, const PolicyClaim& claim, bool create) {
  switch (claim.kind) {
    case Kind::kMachines:
      return rule.mutable_machines();
    case Kind::kEvidenceTypes:
      return rule.mutable_evidence_types();
    case Kind::kSnpMeasurement:
      return create || rule.has_snp() ? rule.mutable_snp()->mutable_measurements() : nullptr;
    case Kind::kSnpHostData:
      return create || rule.has_snp() ? rule.mutable_snp()->mutable_host_data() : nullptr;
    case Kind::kTdxMrtd:
      return create || rule.has_tdx() ? rule.mutable_tdx()->mutable_mrtd() : nullptr;
    case Kind::kTdxTcbStatus:
      return create || rule.has_tdx() ? rule.mutable_tdx()->mutable_allowed_tcb_status() : nullptr;
    case Kind::kTdxRtmr:
      if (!create && rule.tdx().rtmr().count(claim.index) == 0) return nullptr;
      return (*rule.mutable_tdx()->mutable_rtmr())[claim.index].mutable_allowed();
    case Kind::kPcr:
      for (v1::PcrRequirement& pcr : *rule.mutable_pcrs()) {
        const std::string bank = pcr.bank().empty() ? "sha256" : pcr.bank();
        if (bank == claim.bank && pcr.index() == claim.index) return pcr.mutable_allowed();
      }
      if (!create) return nullptr;
      {
        v1::PcrRequirement* pcr = rule.add_pcrs();
        pcr->set_bank(claim.bank);
        pcr->set_index(claim.index);
        return pcr->mutable_allowed();
      }
    case Kind::kSnpReportedTcb:
      return nullptr;
  }
  return nullptr;
}

// Drops a PCR or RTMR entry whose last value was removed (the broker rejects empty ones).
void DropEmptyEntry(v1::PolicyRule& rule, const PolicyClaim& claim) {
  if (claim.kind == Kind::kTdxRtmr && rule.tdx().rtmr().at(claim.index).allowed().empty()) {
    rule.mutable_tdx()->mutable_rtmr()->erase(claim.index);
  }
  if (claim.kind != Kind::kPcr) return;
  auto& pcrs = *rule.mutable_pcrs();
  for (int i = 0; i < pcrs.size(); ++i) {
    if (pcrs[i].allowed().empty()) pcrs.DeleteSubrange(i--, 1);
  }
}

}  // namespace

absl::StatusOr<PolicyClaim> ParsePolicyClaim(absl::string_view name) {
  struct Named {
    const char* name;
    Kind kind;
  };
  static constexpr Named kNamed[] = {
      {"machines", Kind::kMachines},
      {"machine", Kind::kMachines},
      {"evidence_types", Kind::kEvidenceTypes},
      {"evidence_type", Kind::kEvidenceTypes},
      {"snp.measurement", Kind::kSnpMeasurement},
      {"snp.host_data", Kind::kSnpHostData},
      {"snp.reported_tcb", Kind::kSnpReportedTcb},
      {"tdx.mrtd", Kind::kTdxMrtd},
      {"tdx.tcb_status", Kind::kTdxTcbStatus},
  };
  for (const Named& n : kNamed) {
    if (name != n.name) continue;
    PolicyClaim claim{n.kind};
    claim.name = n.kind == Kind::kMachines        ? "machines"
                 : n.kind == Kind::kEvidenceTypes ? "evidence_types"
                                                  : n.name;
    return claim;
  }
  if (name.size() == 9 && name.substr(0, 8) == "tdx.rtmr" && name[8] >= '0' && name[8] <= '3') {
    PolicyClaim claim{Kind::kTdxRtmr};
    claim.index = static_cast<uint32_t>(name[8] - '0');
    claim.name = std::string(name);
    return claim;
  }
  if (name.substr(0, 4) == "pcr:" || name.substr(0, 4) == "pcr.") return ParsePcrClaim(name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown claim '", name, "' (known: ", kKnownClaims, ")"));
}

absl::StatusOr<std::string> NormalizeClaimValue(const PolicyClaim& claim, absl::string_view value) {
  const std::string where = absl::StrCat(claim.name, " value '", Shown(value), "'");
  switch (claim.kind) {
    case Kind::kSnpReportedTcb:
      return absl::InvalidArgumentError(
          "snp.reported_tcb is a minimum, not a set of values: use `policy set-min-tcb`");
    case Kind::kMachines:
      if (value.empty()) return absl::InvalidArgumentError("machines: empty machine name");
      return std::string(value);
    case Kind::kEvidenceTypes:
      if (!IsEvidenceType(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " is not an evidence type (", EvidenceTypeList(), ")"));
      }
      return std::string(value);
    case Kind::kTdxTcbStatus:
      if (!PolicyTcbStatusNames().count(std::string(value))) {
        return absl::InvalidArgumentError(absl::StrCat(
            where,
            " is not a TCB status (UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
            "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)"));
      }
      return std::string(value);
    default:
      break;
  }
  for (char c : value) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(where, " is not hex"));
    }
  }
  const size_t size = ValueSize(claim);
  if (value.size() != 2 * size) {
    return absl::InvalidArgumentError(absl::StrCat(claim.name, " must be ", size, " bytes (",
                                                   2 * size, " hex digits), got ", value.size(),
                                                   " hex digits"));
  }
  return absl::AsciiStrToLower(value);
}

absl::StatusOr<int> ResolveRule(const v1::ReleasePolicy& policy, std::optional<int> rule) {
  const int n = policy.allow_size();
  if (n == 0) {
    return absl::InvalidArgumentError(
        "the policy has no rules: start one with `policy add-rule` or `policy "
        "add-from-evidence --new-rule`");
  }
  if (!rule.has_value()) {
    if (n == 1) return 0;
    return absl::InvalidArgumentError(
        absl::StrCat("the policy has ", n, " rules: choose one with --rule 0..", n - 1));
  }
  if (*rule < 0 || *rule >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rule ", *rule, " is out of range: the policy has ", n,
                     n == 1 ? " rule (0)" : absl::StrCat(" rules (0..", n - 1, ")")));
  }
  return *rule;
}

std::string DescribeRule(const v1::ReleasePolicy& policy, int rule) {
  const std::string& name = policy.allow(rule).name();
  return name.empty() ? absl::StrCat("#", rule) : absl::StrCat("#", rule, " '", name, "'");
}

bool AddClaimValue(v1::ReleasePolicy& policy, int rule, const PolicyClaim& claim,
                   const std::string& value) {
  Values* values = ValuesOf(*policy.mutable_allow(rule), claim, /*create=*/true);
  if (values == nullptr) return false;
  if (std::find(values->begin(), values->end(), value) != values->end()) return false;
  values->Add(std::string(value));
  return true;
}

absl::Status RemoveClaimValue(v1::ReleasePolicy& policy, int rule, const PolicyClaim& claim,
                              const std::string& value) {
  v1::PolicyRule& r = *policy.mutable_allow(rule);
  Values* values = ValuesOf(r, claim, /*create=*/false);
  auto it =
      values == nullptr ? Values::iterator() : std::find(values->begin(), values->end(), value);
  if (values == nullptr || it == values->end()) {
    return absl::NotFoundError(absl::StrCat("rule ", DescribeRule(policy, rule), ": ", claim.name,
                                            " does not list ", Shown(value)));
  }
  values->erase(it);
  DropEmptyEntry(r, claim);
  return absl::OkStatus();
}

void SetPcr(v1::ReleasePolicy& policy, int rule, const std::string& bank, uint32_t index,
            const std::vector<std::string>& values) {
  PolicyClaim claim{Kind::kPcr, bank, index};
  Values* allowed = ValuesOf(*policy.mutable_allow(rule), claim, /*create=*/true);
  allowed->Clear();
  for (const std::string& v : values) {
    if (std::find(allowed->begin(), allowed->end(), v) == allowed->end())
      allowed->Add(std::string(v));
  }
}

absl::Status UnsetPcr(v1::ReleasePolicy& policy, int rule, const std::string& bank,
                      uint32_t index) {
  PolicyClaim claim{Kind::kPcr, bank, index};
  v1::PolicyRule& r = *policy.mutable_allow(rule);
  Values* allowed = ValuesOf(r, claim, /*create=*/false);
  if (allowed == nullptr) {
    return absl::NotFoundError(absl::StrCat("rule ", DescribeRule(policy, rule),
                                            " has no requirement on PCR ", bank, ":", index));
  }
  allowed->Clear();
  DropEmptyEntry(r, claim);
  return absl::OkStatus();
}

absl::StatusOr<TcbComponents> ParseTcbComponents(absl::string_view spec) {
  static const char* const kNames[] = {"bootloader", "tee", "snp", "microcode"};
  TcbComponents out;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    uint32_t value = 0;
    if (std::find(std::begin(kNames), std::end(kNames), kv.first) == std::end(kNames)) {
      return absl::InvalidArgumentError(absl::StrCat("--tcb: unknown component '", kv.first,
                                                     "' (bootloader, tee, snp, microcode)"));
    }
    if (!absl::SimpleAtoi(kv.second, &value) || value > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tcb: ", kv.first, " must be a number 0..255, got '", kv.second, "'"));
    }
    for (const auto& [name, unused] : out) {
      if (name == kv.first) {
        return absl::InvalidArgumentError(absl::StrCat("--tcb: ", name, " given twice"));
      }
    }
    out.emplace_back(kv.first, value);
  }
  return out;
}

bool SetMinTcb(v1::ReleasePolicy& policy, int rule, const TcbComponents& tcb) {
  v1::SnpTcb& min = *policy.mutable_allow(rule)->mutable_snp()->mutable_min_reported_tcb();
  const v1::SnpTcb before = min;
  for (const auto& [name, value] : tcb) {
    if (name == "bootloader") min.set_bootloader(value);
    if (name == "tee") min.set_tee(value);
    if (name == "snp") min.set_snp(value);
    if (name == "microcode") min.set_microcode(value);
  }
  return before.SerializeAsString() != min.SerializeAsString();
}

absl::StatusOr<int> AddRule(v1::ReleasePolicy& policy, const std::string& name,
                            const std::vector<std::string>& evidence_types) {
  v1::PolicyRule rule;
  rule.set_name(name);
  PolicyClaim types{Kind::kEvidenceTypes, "", 0, "evidence_types"};
  for (const std::string& type : evidence_types) {
    ASSIGN_OR_RETURN(std::string t, NormalizeClaimValue(types, type));
    if (std::find(rule.evidence_types().begin(), rule.evidence_types().end(), t) ==
        rule.evidence_types().end()) {
      rule.add_evidence_types(t);
    }
  }
  for (int i = 0; !name.empty() && i < policy.allow_size(); ++i) {
    if (policy.allow(i).name() == name) {
      return absl::InvalidArgumentError(
          absl::StrCat("rule ", DescribeRule(policy, i), " already has the name '", name, "'"));
    }
  }
  *policy.add_allow() = std::move(rule);
  return policy.allow_size() - 1;
}

void RemoveRule(v1::ReleasePolicy& policy, int rule) {
  policy.mutable_allow()->DeleteSubrange(rule, 1);
}

}  // namespace kb
