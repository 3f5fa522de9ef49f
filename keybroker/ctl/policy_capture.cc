#include "keybroker/ctl/policy_capture.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace kb {
namespace {

using Kind = PolicyClaim::Kind;

// "pcr:sha256:0-7" -> pcr:sha256:0 .. pcr:sha256:7; other names parse as one claim.
absl::Status AppendClaims(absl::string_view item, std::vector<PolicyClaim>& out) {
  const size_t dash = item.rfind('-');
  const size_t colon = item.rfind(':');
  const bool pcr = item.substr(0, 4) == "pcr:" || item.substr(0, 4) == "pcr.";
  if (!pcr || dash == absl::string_view::npos || colon == absl::string_view::npos || dash < colon) {
    ASSIGN_OR_RETURN(PolicyClaim claim, ParsePolicyClaim(item));
    out.push_back(std::move(claim));
    return absl::OkStatus();
  }
  uint32_t first = 0, last = 0;
  const absl::string_view prefix = item.substr(0, colon + 1);
  if (!absl::SimpleAtoi(item.substr(colon + 1, dash - colon - 1), &first) ||
      !absl::SimpleAtoi(item.substr(dash + 1), &last) || first > last) {
    return absl::InvalidArgumentError(
        absl::StrCat("--claims: '", item, "' is not a PCR range such as pcr:sha256:0-7"));
  }
  for (uint32_t i = first; i <= last; ++i) {
    ASSIGN_OR_RETURN(PolicyClaim claim, ParsePolicyClaim(absl::StrCat(prefix, i)));
    out.push_back(std::move(claim));
  }
  return absl::OkStatus();
}

// The verified claim that holds `claim`'s value ("pcr.sha256:7", "snp.measurement", ...).
std::string ClaimKey(const PolicyClaim& claim) {
  if (claim.kind == Kind::kPcr) return absl::StrCat("pcr.", claim.bank, ":", claim.index);
  return claim.name;
}

absl::Status Missing(const VerifiedClaims& v, absl::string_view key) {
  std::vector<std::string> names;
  for (const auto& [name, unused] : v.claims) names.push_back(name);
  return absl::FailedPreconditionError(
      absl::StrCat("evidence ", v.source, " (", v.evidence_type, ") has no verified claim '", key,
                   "'; its claims: ", names.empty() ? "none" : absl::StrJoin(names, ", ")));
}

absl::StatusOr<std::string> Lookup(const VerifiedClaims& v, const std::string& key) {
  auto it = v.claims.find(key);
  if (it == v.claims.end() || it->second.empty()) return Missing(v, key);
  return it->second;
}

// snp.reported_tcb.{bootloader,tee,snp,microcode} of the evidence as a minimum.
absl::StatusOr<std::vector<std::string>> ApplyReportedTcb(v1::ReleasePolicy& policy, int rule,
                                                          const VerifiedClaims& v) {
  TcbComponents tcb;
  for (const char* name : {"bootloader", "tee", "snp", "microcode"}) {
    const std::string key = absl::StrCat("snp.reported_tcb.", name);
    ASSIGN_OR_RETURN(std::string text, Lookup(v, key));
    uint32_t value = 0;
    if (!absl::SimpleAtoi(text, &value)) {
      return absl::FailedPreconditionError(
          absl::StrCat("evidence ", v.source, ": claim ", key, " is not a number: ", text));
    }
    tcb.emplace_back(name, value);
  }
  if (!SetMinTcb(policy, rule, tcb)) return std::vector<std::string>{};
  std::vector<std::string> parts;
  for (const auto& [name, value] : tcb) parts.push_back(absl::StrCat(name, "=", value));
  return std::vector<std::string>{absl::StrCat(
      "set snp.min_reported_tcb ", absl::StrJoin(parts, ","), " (from ", v.source, ")")};
}

}  // namespace

absl::StatusOr<std::vector<PolicyClaim>> ParseCaptureList(absl::string_view list) {
  std::vector<PolicyClaim> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    RETURN_IF_ERROR(AppendClaims(absl::StripAsciiWhitespace(item), out));
  }
  if (out.empty()) return absl::InvalidArgumentError("--claims names no claim");
  return out;
}

absl::StatusOr<std::vector<std::string>> ApplyVerifiedClaims(v1::ReleasePolicy& policy, int rule,
                                                             const std::vector<PolicyClaim>& claims,
                                                             const VerifiedClaims& verified) {
  std::vector<std::string> changes;
  for (const PolicyClaim& claim : claims) {
    if (claim.kind == Kind::kSnpReportedTcb) {
      ASSIGN_OR_RETURN(std::vector<std::string> tcb, ApplyReportedTcb(policy, rule, verified));
      changes.insert(changes.end(), tcb.begin(), tcb.end());
      continue;
    }
    std::string raw;
    if (claim.kind == Kind::kMachines) {
      raw = verified.machine;
      if (raw.empty()) return Missing(verified, "machine");
    } else if (claim.kind == Kind::kEvidenceTypes) {
      raw = verified.evidence_type;
    } else {
      ASSIGN_OR_RETURN(raw, Lookup(verified, ClaimKey(claim)));
    }
    absl::StatusOr<std::string> value = NormalizeClaimValue(claim, raw);
    if (!value.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("evidence ", verified.source, ": verified ", value.status().message()));
    }
    if (AddClaimValue(policy, rule, claim, *value)) {
      changes.push_back(
          absl::StrCat("added ", claim.name, " ", *value, " (from ", verified.source, ")"));
    }
  }
  return changes;
}

}  // namespace kb
