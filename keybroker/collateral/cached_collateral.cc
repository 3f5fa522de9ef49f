#include "keybroker/collateral/cached_collateral.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/collateral/collateral_recognizer.h"
#include "keybroker/collateral/recognizer_parts.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "keybroker/verifiers/snp/amd_certs.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace {

using absl::StatusCode;
using collateral_internal::Asn1Time;
using collateral_internal::NameText;

using Window = std::pair<absl::Time, absl::Time>;

bool Inside(const Window& w, absl::Time now) { return w.first <= now && now <= w.second; }

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// The index of the newest window (by start) valid at `now`, else of the newest; -1 if none.
int PickNewest(const std::vector<Window>& windows, absl::Time now) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(windows.size()); ++i) {
    if (best < 0) {
      best = i;
      continue;
    }
    const bool valid = Inside(windows[i], now), best_valid = Inside(windows[best], now);
    if ((valid && !best_valid) || (valid == best_valid && windows[i].first > windows[best].first)) {
      best = i;
    }
  }
  return best;
}

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

X509Ptr SharedCert(X509* cert) {
  X509_up_ref(cert);
  return X509Ptr(cert);
}

tdx::X509CrlPtr SharedCrl(X509_CRL* crl) {
  X509_CRL_up_ref(crl);
  return tdx::X509CrlPtr(crl);
}

absl::Status PickTcbInfo(const tdx::TdxCollateral* base, CollateralSource& cache,
                         absl::string_view fmspc, absl::Time now, tdx::TdxCollateral& out) {
  std::vector<tdx::TcbInfo> candidates;
  if (!fmspc.empty()) {
    ASSIGN_OR_RETURN(std::vector<CollateralRecord> cached,
                     cache.FindCollateral(kCollateralTdxTcbInfo, HexEncode(fmspc)));
    for (const CollateralRecord& r : cached) {
      if (auto info = tdx::ParseTcbInfo(r.content); info.ok()) candidates.push_back(*info);
    }
  }
  if (base != nullptr && base->tcb_info && (candidates.empty() || base->tcb_info->fmspc == fmspc)) {
    candidates.push_back(*base->tcb_info);
  }
  std::vector<Window> windows;
  for (const tdx::TcbInfo& t : candidates) windows.emplace_back(t.issue_date, t.next_update);
  if (int i = PickNewest(windows, now); i >= 0) out.tcb_info = std::move(candidates[i]);
  return absl::OkStatus();
}

absl::Status PickQeIdentity(const tdx::TdxCollateral* base, CollateralSource& cache, absl::Time now,
                            tdx::TdxCollateral& out) {
  std::vector<tdx::QeIdentity> candidates;
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> cached,
                   cache.FindCollateral(kCollateralTdxQeIdentity, "TD_QE"));
  for (const CollateralRecord& r : cached) {
    if (auto qe = tdx::ParseQeIdentity(r.content); qe.ok()) candidates.push_back(*qe);
  }
  if (base != nullptr && base->qe_identity) candidates.push_back(*base->qe_identity);
  std::vector<Window> windows;
  for (const tdx::QeIdentity& q : candidates) windows.emplace_back(q.issue_date, q.next_update);
  if (int i = PickNewest(windows, now); i >= 0) out.qe_identity = std::move(candidates[i]);
  return absl::OkStatus();
}

absl::Status PickCrls(const tdx::TdxCollateral* base, CollateralSource& cache, absl::Time now,
                      tdx::TdxCollateral& out) {
  std::map<std::string, std::vector<tdx::X509CrlPtr>> by_issuer;
  if (base != nullptr) {
    for (const tdx::X509CrlPtr& crl : base->crls) {
      by_issuer[NameText(X509_CRL_get_issuer(crl.get()))].push_back(SharedCrl(crl.get()));
    }
  }
  ASSIGN_OR_RETURN(std::vector<CollateralRecord> cached, cache.FindCollateral(kCollateralCrl, ""));
  for (const CollateralRecord& r : cached) {
    auto crl = tdx::ParseCrl(r.content);
    if (crl.ok()) by_issuer[NameText(X509_CRL_get_issuer(crl->get()))].push_back(*std::move(crl));
  }
  for (auto& [issuer, crls] : by_issuer) {
    std::vector<Window> windows;
    for (const tdx::X509CrlPtr& crl : crls) {
      windows.emplace_back(Asn1Time(X509_CRL_get0_lastUpdate(crl.get()), absl::InfiniteFuture()),
                           Asn1Time(X509_CRL_get0_nextUpdate(crl.get()), absl::InfiniteFuture()));
    }
    out.crls.push_back(std::move(crls[PickNewest(windows, now)]));
  }
  return absl::OkStatus();
}

absl::Status CollectIssuers(const tdx::TdxCollateral* base, CollateralSource& cache, absl::Time now,
                            tdx::TdxCollateral& out) {
  std::vector<X509Ptr> certs;
  if (base != nullptr) {
    for (const X509Ptr& c : base->issuer_certs) certs.push_back(SharedCert(c.get()));
  }
  for (absl::string_view kind : {kCollateralIntelTcbSigning, kCollateralIntelPckCa}) {
    ASSIGN_OR_RETURN(std::vector<CollateralRecord> cached, cache.FindCollateral(kind, ""));
    for (const CollateralRecord& r : cached) {
      if (auto cert = ParseCertificate(r.content); cert.ok()) certs.push_back(*std::move(cert));
    }
  }
  std::stable_partition(certs.begin(), certs.end(), [now](const X509Ptr& c) {
    return !Inside({Asn1Time(X509_get0_notBefore(c.get()), absl::InfiniteFuture()),
                    Asn1Time(X509_get0_notAfter(c.get()), absl::InfinitePast())},
                   now);
  });
  out.issuer_certs = std::move(certs);
  return absl::OkStatus();
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
  std::vector<Window> windows;
  for (const CollateralRecord& c : candidates) {
    if (!SignerOf(c, *report)) continue;
    matches.push_back(&c);
    windows.emplace_back(c.not_before, c.not_after);
  }
  const int i = PickNewest(windows, now);
  if (i >= 0 && Inside(windows[i], now)) return matches[i]->content;
  if (i >= 0) {
    const CollateralRecord& c = *matches[i];
    return CheckFailed(
        kSnpCheckCertChain, StatusCode::kUnauthenticated,
        absl::StrCat("the cached ", c.kind, " ", c.id, " (", c.identity, ") ",
                     now > c.not_after ? "has expired" : "is not yet valid", " (valid ",
                     TimeText(c.not_before), " to ", TimeText(c.not_after), ")"));
  }
  return CheckFailed(kSnpCheckParse, StatusCode::kInvalidArgument,
                     absl::StrCat("no VCEK/VLEK: the evidence carries none (vcek, cert_table) and "
                                  "the collateral cache has none for CHIP_ID ",
                                  HexEncode(absl::string_view(report->chip_id).substr(0, 8)),
                                  "... at REPORTED_TCB 0x", absl::Hex(report->reported_tcb)));
}

absl::StatusOr<tdx::TdxCollateral> TdxCollateralWithCache(const tdx::TdxCollateral* base,
                                                          CollateralSource& cache,
                                                          absl::string_view fmspc, absl::Time now) {
  tdx::TdxCollateral out;
  RETURN_IF_ERROR(PickTcbInfo(base, cache, fmspc, now, out));
  RETURN_IF_ERROR(PickQeIdentity(base, cache, now, out));
  RETURN_IF_ERROR(PickCrls(base, cache, now, out));
  RETURN_IF_ERROR(CollectIssuers(base, cache, now, out));
  return out;
}

}  // namespace kb
