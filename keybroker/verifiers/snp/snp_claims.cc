#include "keybroker/verifiers/snp/snp_claims.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "keybroker/verifiers/api/evidence_types.h"

namespace kb {
namespace {

void AddTcb(const std::string& prefix, const SnpTcb& tcb, bool turin, Claims& c) {
  c.attributes[prefix + ".bootloader"] = absl::StrCat(tcb.bootloader);
  c.attributes[prefix + ".tee"] = absl::StrCat(tcb.tee);
  c.attributes[prefix + ".snp"] = absl::StrCat(tcb.snp);
  c.attributes[prefix + ".microcode"] = absl::StrCat(tcb.microcode);
  if (turin) c.attributes[prefix + ".fmc"] = absl::StrCat(tcb.fmc);
}

}  // namespace

void AddSnpAttributes(const SnpClaims& s, Claims& c) {
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
  a["snp.debug"] = ClaimFlag(s.policy.debug);
  a["snp.migrate_ma"] = ClaimFlag(s.policy.migrate_ma);
  a["snp.smt"] = ClaimFlag(s.policy.smt);
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

Claims ClaimsFromSnp(const SnpClaims& snp) {
  Claims c;
  c.evidence_type = std::string(kEvidenceSnp);
  c.machine = absl::StrCat("snp-chip:", snp.chip_id);
  AddSnpAttributes(snp, c);
  return c;
}

}  // namespace kb
