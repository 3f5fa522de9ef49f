#include "keybroker/verifiers/tdx/tdx_claims.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keybroker/verifiers/api/evidence_types.h"

namespace kb {

Claims ClaimsFromTdx(const tdx::TdxClaims& t) {
  Claims c;
  c.evidence_type = std::string(kEvidenceTdx);
  c.machine = absl::StrCat("tdx-fmspc:", t.fmspc);
  auto& a = c.attributes;
  a["tdx.mrtd"] = t.mr_td;
  for (int i = 0; i < 4; ++i) a[absl::StrCat("tdx.rtmr", i)] = t.rtmr[i];
  a["tdx.mr_config_id"] = t.mr_config_id;
  a["tdx.mr_owner"] = t.mr_owner;
  a["tdx.mr_owner_config"] = t.mr_owner_config;
  a["tdx.td_attributes"] = t.td_attributes;
  a["tdx.debug"] = ClaimFlag(t.debug);
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

}  // namespace kb
