#include "keybroker/ctl/policy_show.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "keybroker/ctl/output.h"

namespace kb {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// Appends one row per value of `claim`.
template <typename Container>
void AddRows(Rows& rows, const std::vector<std::string>& prefix, const std::string& claim,
             const Container& values) {
  for (const std::string& v : values) {
    std::vector<std::string> row = prefix;
    row.push_back(claim);
    row.push_back(v);
    rows.push_back(std::move(row));
  }
}

void AddRow(Rows& rows, const std::vector<std::string>& prefix, const std::string& claim,
            const std::string& value) {
  AddRows(rows, prefix, claim, std::vector<std::string>{value});
}

void AddSnpRows(Rows& rows, const std::vector<std::string>& p, const v1::SnpRequirement& snp) {
  AddRows(rows, p, "snp.measurement", snp.measurements());
  AddRows(rows, p, "snp.host_data", snp.host_data());
  const v1::SnpTcb& t = snp.min_reported_tcb();
  if (t.bootloader() != 0 || t.tee() != 0 || t.snp() != 0 || t.microcode() != 0) {
    AddRow(rows, p, "snp.min_reported_tcb",
           absl::StrCat("bootloader>=", t.bootloader(), " tee>=", t.tee(), " snp>=", t.snp(),
                        " microcode>=", t.microcode()));
  }
  if (snp.has_vmpl_max()) AddRow(rows, p, "snp.vmpl_max", absl::StrCat(snp.vmpl_max()));
  if (snp.allow_debug()) AddRow(rows, p, "snp.allow_debug", "true");
}

void AddTdxRows(Rows& rows, const std::vector<std::string>& p, const v1::TdxRequirement& tdx) {
  AddRows(rows, p, "tdx.mrtd", tdx.mrtd());
  for (uint32_t i = 0; i <= 3; ++i) {
    auto it = tdx.rtmr().find(i);
    if (it != tdx.rtmr().end()) AddRows(rows, p, absl::StrCat("tdx.rtmr", i), it->second.allowed());
  }
  if (tdx.allowed_tcb_status().empty()) {
    AddRow(rows, p, "tdx.tcb_status", "UpToDate (default)");
  } else {
    AddRows(rows, p, "tdx.tcb_status", tdx.allowed_tcb_status());
  }
  if (tdx.allow_debug()) AddRow(rows, p, "tdx.allow_debug", "true");
}

void AddRuleRows(Rows& rows, int index, const v1::PolicyRule& rule) {
  const std::vector<std::string> p = {absl::StrCat(index), rule.name().empty() ? "-" : rule.name()};
  if (rule.evidence_types().empty()) {
    AddRow(rows, p, "evidence_types", "(any)");
  } else {
    AddRows(rows, p, "evidence_types", rule.evidence_types());
  }
  AddRows(rows, p, "machines", rule.machines());
  for (const v1::PcrRequirement& pcr : rule.pcrs()) {
    const std::string bank = pcr.bank().empty() ? "sha256" : pcr.bank();
    AddRows(rows, p, absl::StrCat("pcr:", bank, ":", pcr.index()), pcr.allowed());
  }
  if (rule.has_snp()) AddSnpRows(rows, p, rule.snp());
  if (rule.has_tdx()) AddTdxRows(rows, p, rule.tdx());
  AddRow(rows, p, "offline_boots", absl::StrCat(rule.offline_boots()));
}

}  // namespace

std::string FormatPolicyTable(const std::string& key_id, uint64_t version,
                              const v1::ReleasePolicy& policy) {
  Rows rows;
  for (int i = 0; i < policy.allow_size(); ++i) AddRuleRows(rows, i, policy.allow(i));
  const int n = policy.allow_size();
  return absl::StrCat("key ", key_id, ": policy version ", version, ", ", n,
                      n == 1 ? " rule" : " rules",
                      " (a rule allows when every claim holds one of its values)\n",
                      RenderTable({"RULE", "NAME", "CLAIM", "VALUE"}, rows));
}

}  // namespace kb
