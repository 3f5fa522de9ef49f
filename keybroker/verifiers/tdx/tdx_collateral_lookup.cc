#include "keybroker/verifiers/tdx/tdx_collateral_lookup.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/validity_window.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace {

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
  std::vector<ValidityWindow> windows;
  for (const tdx::TcbInfo& t : candidates) windows.emplace_back(t.issue_date, t.next_update);
  if (int i = PickNewestWindow(windows, now); i >= 0) out.tcb_info = std::move(candidates[i]);
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
  std::vector<ValidityWindow> windows;
  for (const tdx::QeIdentity& q : candidates) windows.emplace_back(q.issue_date, q.next_update);
  if (int i = PickNewestWindow(windows, now); i >= 0) out.qe_identity = std::move(candidates[i]);
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
    std::vector<ValidityWindow> windows;
    for (const tdx::X509CrlPtr& crl : crls) {
      windows.emplace_back(Asn1Time(X509_CRL_get0_lastUpdate(crl.get()), absl::InfiniteFuture()),
                           Asn1Time(X509_CRL_get0_nextUpdate(crl.get()), absl::InfiniteFuture()));
    }
    out.crls.push_back(std::move(crls[PickNewestWindow(windows, now)]));
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
    return !WindowContains(
        ValidityWindow{Asn1Time(X509_get0_notBefore(c.get()), absl::InfiniteFuture()),
                       Asn1Time(X509_get0_notAfter(c.get()), absl::InfinitePast())},
        now);
  });
  out.issuer_certs = std::move(certs);
  return absl::OkStatus();
}

}  // namespace

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
