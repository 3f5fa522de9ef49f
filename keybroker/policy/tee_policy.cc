#include "keybroker/policy/tee_policy.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/policy/tcb_status_names.h"

namespace kb {
namespace {

absl::Status ValidateHexList(google::protobuf::RepeatedPtrField<std::string>& values, size_t size,
                             const std::string& where) {
  for (std::string& value : values) {
    auto bytes = HexDecode(value);
    if (!bytes.ok() || bytes->size() != size) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", value, "' is not ", size, " bytes of hex"));
    }
    absl::AsciiStrToLower(&value);
  }
  return absl::OkStatus();
}

std::string Attr(const Claims& c, const std::string& name) {
  auto it = c.attributes.find(name);
  return it == c.attributes.end() ? std::string() : it->second;
}

bool Listed(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

absl::Status Deny(absl::string_view why) { return absl::PermissionDeniedError(why); }

absl::Status CheckSnp(const v1::SnpRequirement& snp, const Claims& c) {
  if (Attr(c, "snp.measurement").empty()) return Deny("snp clause: evidence has no SEV-SNP claims");
  if (!snp.measurements().empty() && !Listed(snp.measurements(), Attr(c, "snp.measurement"))) {
    return Deny(absl::StrCat("snp measurement ", Attr(c, "snp.measurement").substr(0, 16),
                             "... not allowed"));
  }
  if (!snp.host_data().empty() && !Listed(snp.host_data(), Attr(c, "snp.host_data"))) {
    return Deny("snp host_data not allowed");
  }
  uint32_t vmpl = 0;
  if (snp.has_vmpl_max() &&
      (!absl::SimpleAtoi(Attr(c, "snp.vmpl"), &vmpl) || vmpl > snp.vmpl_max())) {
    return Deny(absl::StrCat("snp vmpl ", Attr(c, "snp.vmpl"), " above ", snp.vmpl_max()));
  }
  const std::pair<const char*, uint32_t> tcb[] = {
      {"bootloader", snp.min_reported_tcb().bootloader()},
      {"tee", snp.min_reported_tcb().tee()},
      {"snp", snp.min_reported_tcb().snp()},
      {"microcode", snp.min_reported_tcb().microcode()}};
  for (const auto& [name, min] : tcb) {
    uint32_t have = 0;
    const std::string attr = absl::StrCat("snp.reported_tcb.", name);
    if (!absl::SimpleAtoi(Attr(c, attr), &have) || have < min) {
      return Deny(absl::StrCat("snp reported_tcb.", name, " ", Attr(c, attr), " below ", min));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTdx(const v1::TdxRequirement& tdx, const Claims& c) {
  if (Attr(c, "tdx.mrtd").empty()) return Deny("tdx clause: evidence has no TDX claims");
  if (!tdx.mrtd().empty() && !Listed(tdx.mrtd(), Attr(c, "tdx.mrtd"))) {
    return Deny(absl::StrCat("tdx mrtd ", Attr(c, "tdx.mrtd").substr(0, 16), "... not allowed"));
  }
  for (const auto& [index, allowed] : tdx.rtmr()) {
    const std::string value = Attr(c, absl::StrCat("tdx.rtmr", index));
    if (!Listed(allowed.allowed(), value)) {
      return Deny(absl::StrCat("tdx rtmr", index, " ", value.substr(0, 16), "... not allowed"));
    }
  }
  return absl::OkStatus();
}

// Defaults every rule applies, whatever clauses it has.
absl::Status CheckDefaults(const v1::PolicyRule& rule, const Claims& c) {
  if (Attr(c, "snp.debug") == "true" && !rule.snp().allow_debug()) {
    return Deny("SEV-SNP debug guest (POLICY.DEBUG) not allowed (snp.allow_debug is false)");
  }
  if (Attr(c, "tdx.debug") == "true" && !rule.tdx().allow_debug()) {
    return Deny("debug TD (TDATTRIBUTES.DEBUG) not allowed (tdx.allow_debug is false)");
  }
  if (!Attr(c, "tdx.mrtd").empty()) {
    const std::string status = Attr(c, "tdx.tcb_status");
    const bool ok = rule.tdx().allowed_tcb_status().empty()
                        ? status == "UpToDate"
                        : Listed(rule.tdx().allowed_tcb_status(), status);
    if (!ok) return Deny(absl::StrCat("tdx tcb_status '", status, "' not allowed"));
  }
  return absl::OkStatus();
}

}  // namespace

bool ConstrainsTeeState(const v1::PolicyRule& rule) {
  return !rule.snp().measurements().empty() || !rule.tdx().mrtd().empty() ||
         !rule.tdx().rtmr().empty();
}

absl::Status ValidateTeeClauses(v1::PolicyRule& rule, const std::string& where) {
  if (rule.has_snp()) {
    v1::SnpRequirement& snp = *rule.mutable_snp();
    RETURN_IF_ERROR(ValidateHexList(*snp.mutable_measurements(), 48, where + " snp.measurements"));
    RETURN_IF_ERROR(ValidateHexList(*snp.mutable_host_data(), 32, where + " snp.host_data"));
    if (snp.has_vmpl_max() && snp.vmpl_max() > 3) {
      return absl::InvalidArgumentError(absl::StrCat(where, " snp.vmpl_max: must be 0..3"));
    }
  }
  if (rule.has_tdx()) {
    v1::TdxRequirement& tdx = *rule.mutable_tdx();
    RETURN_IF_ERROR(ValidateHexList(*tdx.mutable_mrtd(), 48, where + " tdx.mrtd"));
    for (auto& [index, allowed] : *tdx.mutable_rtmr()) {
      const std::string at = absl::StrCat(where, " tdx.rtmr[", index, "]");
      if (index > 3) return absl::InvalidArgumentError(at + ": RTMR index must be 0..3");
      if (allowed.allowed().empty()) {
        return absl::InvalidArgumentError(at + ": 'allowed' is empty");
      }
      RETURN_IF_ERROR(ValidateHexList(*allowed.mutable_allowed(), 48, at));
    }
    for (const std::string& status : tdx.allowed_tcb_status()) {
      if (!PolicyTcbStatusNames().count(status)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " tdx.allowed_tcb_status: unknown status '", status, "'"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTeeClauses(const v1::PolicyRule& rule, const Claims& claims) {
  RETURN_IF_ERROR(CheckDefaults(rule, claims));
  if (rule.has_snp()) RETURN_IF_ERROR(CheckSnp(rule.snp(), claims));
  if (rule.has_tdx()) RETURN_IF_ERROR(CheckTdx(rule.tdx(), claims));
  return absl::OkStatus();
}

}  // namespace kb
