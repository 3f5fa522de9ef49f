#include "keybroker/verifiers/tee_claims.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kb {
namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

void AddTcb(const std::string& prefix, const SnpTcb& tcb, bool turin, Claims& c) {
  c.attributes[prefix + ".bootloader"] = absl::StrCat(tcb.bootloader);
  c.attributes[prefix + ".tee"] = absl::StrCat(tcb.tee);
  c.attributes[prefix + ".snp"] = absl::StrCat(tcb.snp);
  c.attributes[prefix + ".microcode"] = absl::StrCat(tcb.microcode);
  if (turin) c.attributes[prefix + ".fmc"] = absl::StrCat(tcb.fmc);
}

void AddSnp(const SnpClaims& s, Claims& c) {
  auto& a = c.attributes;
  a["snp.measurement"] = s.measurement;
  a["snp.host_data"] = s.host_data;
  a["snp.report_data"] = s.report_data;
  a["snp.id_key_digest"] = s.id_key_digest;
  a["snp.author_key_digest"] = s.author_key_digest;
  a["snp.family_id"] = s.family_id;
  a["snp.image_id"] = s.image_id;
  a["snp.chip_id"] = s.chip_id;
  a["snp.report_id"] = s.report_id;
  a["snp.debug"] = Bool(s.policy.debug);
  a["snp.migrate_ma"] = Bool(s.policy.migrate_ma);
  a["snp.smt"] = Bool(s.policy.smt);
  a["snp.policy"] = absl::StrCat(absl::Hex(s.policy.raw, absl::kZeroPad16));
  a["snp.vmpl"] = absl::StrCat(s.vmpl);
  a["snp.guest_svn"] = absl::StrCat(s.guest_svn);
  a["snp.version"] = absl::StrCat(s.version);
  a["snp.product"] = s.product_name;
  a["snp.signer"] = s.signer;
  a["snp.platform_info"] = absl::StrCat(absl::Hex(s.platform_info, absl::kZeroPad16));
  a["snp.current_firmware"] = s.current_firmware;
  const bool turin = s.product == SnpProduct::kTurin;
  AddTcb("snp.reported_tcb", s.reported_tcb, turin, c);
  AddTcb("snp.committed_tcb", s.committed_tcb, turin, c);
  AddTcb("snp.launch_tcb", s.launch_tcb, turin, c);
}

// JSON string escaping for the ASCII-ish values we emit.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

Claims ClaimsFromSnp(const SnpClaims& snp) {
  Claims c;
  c.evidence_type = "snp";
  c.machine = absl::StrCat("snp-chip:", snp.chip_id);
  AddSnp(snp, c);
  return c;
}

Claims ClaimsFromTdx(const tdx::TdxClaims& t) {
  Claims c;
  c.evidence_type = "tdx";
  c.machine = absl::StrCat("tdx-fmspc:", t.fmspc);
  auto& a = c.attributes;
  a["tdx.mrtd"] = t.mr_td;
  for (int i = 0; i < 4; ++i) a[absl::StrCat("tdx.rtmr", i)] = t.rtmr[i];
  a["tdx.mr_config_id"] = t.mr_config_id;
  a["tdx.mr_owner"] = t.mr_owner;
  a["tdx.mr_owner_config"] = t.mr_owner_config;
  a["tdx.td_attributes"] = t.td_attributes;
  a["tdx.debug"] = Bool(t.debug);
  a["tdx.xfam"] = t.xfam;
  a["tdx.mr_seam"] = t.mr_seam;
  a["tdx.mr_signer_seam"] = t.mr_signer_seam;
  a["tdx.tee_tcb_svn"] = t.tee_tcb_svn;
  a["tdx.report_data"] = t.report_data;
  a["tdx.fmspc"] = t.fmspc;
  a["tdx.quote_version"] = absl::StrCat(t.quote_version);
  a["tdx.tcb_status"] = std::string(tdx::TcbStatusName(t.tcb_status));
  a["tdx.tcb_date"] = t.tcb_date;
  a["tdx.advisory_ids"] = absl::StrJoin(t.advisory_ids, ",");
  a["tdx.qe_identity_status"] = std::string(tdx::TcbStatusName(t.qe_identity_status));
  if (t.tdx_module_status.has_value()) {
    a["tdx.tdx_module_status"] = std::string(tdx::TcbStatusName(*t.tdx_module_status));
  }
  return c;
}

namespace {

// The azure.* attributes, machine and PCRs shared by both Azure vTPM evidence kinds.
template <typename AzureClaims>
void AddAzure(const AzureClaims& az, Claims& c) {
  c.machine = absl::StrCat("azure-vm:", az.vm_unique_id);
  c.attributes["azure.vm_id"] = az.vm_unique_id;
  c.attributes["azure.secure_boot"] = Bool(az.secure_boot);
  c.attributes["azure.tpm_enabled"] = Bool(az.tpm_enabled);
  c.attributes["azure.console_enabled"] = Bool(az.console_enabled);
  c.attributes["azure.user_data"] = az.user_data;
  c.attributes["azure.quote_nonce"] = az.quote_nonce;
  for (const auto& [index, value] : az.pcrs) c.pcrs["sha256"][index] = value;
}

}  // namespace

Claims ClaimsFromAzureSnp(const AzureSnpVtpmClaims& az) {
  Claims c;
  c.evidence_type = "az-snp-vtpm";
  AddSnp(az.snp, c);
  AddAzure(az, c);
  return c;
}

Claims ClaimsFromAzureTdx(const AzureTdxVtpmClaims& az) {
  Claims c = ClaimsFromTdx(az.tdx);
  c.evidence_type = "az-tdx-vtpm";
  AddAzure(az, c);
  return c;
}

std::string ClaimsToJson(const Claims& claims) {
  std::string out = absl::StrCat("{\n  \"evidence_type\": ", Quote(claims.evidence_type),
                                 ",\n  \"machine\": ", Quote(claims.machine), ",\n  \"pcrs\": {");
  const char* bank_sep = "";
  for (const auto& [bank, values] : claims.pcrs) {
    absl::StrAppend(&out, bank_sep, "\n    ", Quote(bank), ": {");
    const char* sep = "";
    for (const auto& [index, digest] : values) {
      absl::StrAppend(&out, sep, "\n      \"", index, "\": ", Quote(digest));
      sep = ",";
    }
    absl::StrAppend(&out, values.empty() ? "}" : "\n    }");
    bank_sep = ",";
  }
  absl::StrAppend(&out, claims.pcrs.empty() ? "}" : "\n  }", ",\n  \"attributes\": {");
  const char* sep = "";
  for (const auto& [name, value] : claims.attributes) {
    absl::StrAppend(&out, sep, "\n    ", Quote(name), ": ", Quote(value));
    sep = ",";
  }
  absl::StrAppend(&out, claims.attributes.empty() ? "}" : "\n  }", "\n}\n");
  return out;
}

}  // namespace kb
