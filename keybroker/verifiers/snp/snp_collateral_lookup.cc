#include "keybroker/verifiers/snp/snp_collateral_lookup.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/validity_window.h"
#include "keybroker/verifiers/api/check.h"
#include "keybroker/verifiers/snp/amd_certs.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/snp/snp_verifier.h"

namespace kb {
namespace {

using absl::StatusCode;

// Whether cached certificate `c` is the VCEK/VLEK that signed `report` (hwID, SPLs, kind).
bool SignerOf(const CollateralRecord& c, const SnpReport& report) {
  auto cert = ParseCertificate(c.content);
  if (!cert.ok()) return false;
  auto info = ParseAmdKeyCert(cert->get());
  return info.ok() && CheckSnpSignerKind(report, *info).ok() &&
         CheckSnpVcekTcb(report, *info, info->product).ok() && CheckSnpHwId(report, *info).ok();
}

absl::StatusOr<std::vector<CollateralRecord>> SnpCandidates(CollateralSource& cache,
                                                            const SnpReport& report) {
  if (report.signing_key == static_cast<uint32_t>(SnpSigner::kVlek)) {
    return cache.FindCollateral(kCollateralVlek, "");
  }
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> out,
                   cache.FindCollateral(kCollateralVcek, HexEncode(report.chip_id)));
  // Turin VCEKs carry the first 8 bytes of CHIP_ID as their hwID.
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> turin,
                   cache.FindCollateral(kCollateralVcek, HexEncode(report.chip_id.substr(0, 8))));
  for (CollateralRecord& r : turin) out.push_back(std::move(r));
  return out;
}

}  // namespace

absl::StatusOr<std::string> SnpKeyCertFromCache(CollateralSource& cache,
                                                absl::string_view report_bytes, absl::Time now) {
  auto report = ParseSnpReport(report_bytes);
  if (!report.ok()) {
    return CheckFailed(kSnpCheckParse, StatusCode::kInvalidArgument, report.status().message());
  }
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> candidates, SnpCandidates(cache, *report));
  std::vector<const CollateralRecord*> matches;
  std::vector<ValidityWindow> windows;
  for (const CollateralRecord& c : candidates) {
    if (!SignerOf(c, *report)) continue;
    matches.push_back(&c);
    windows.emplace_back(c.not_before, c.not_after);
  }
  const int i = PickNewestWindow(windows, now);
  if (i >= 0 && WindowContains(windows[i], now)) return matches[i]->content;
  if (i >= 0) {
    const CollateralRecord& c = *matches[i];
    return CheckFailed(
        kSnpCheckCertChain, StatusCode::kUnauthenticated,
        absl::StrCat("the cached ", c.kind, " ", c.id, " (", c.identity, ") ",
                     now > c.not_after ? "has expired" : "is not yet valid", " (valid ",
                     ValidityTimeText(c.not_before), " to ", ValidityTimeText(c.not_after), ")"));
  }
  return CheckFailed(kSnpCheckParse, StatusCode::kInvalidArgument,
                     absl::StrCat("no VCEK/VLEK: the evidence carries none (vcek, cert_table) and "
                                  "the collateral cache has none for CHIP_ID ",
                                  HexEncode(absl::string_view(report->chip_id).substr(0, 8)),
                                  "... at REPORTED_TCB 0x", absl::Hex(report->reported_tcb)));
}

}  // namespace kb
