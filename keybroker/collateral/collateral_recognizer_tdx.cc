// Recognition of imported Intel TDX collateral: tcbInfo, TD_QE identity and CRLs. Parsing and
// signature checks are the TDX verifier's own (keybroker/verifiers/tdx/).
#include <openssl/x509v3.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/collateral/recognizer_parts.h"
#include "keybroker/verifiers/tdx/collateral.h"
#include "keybroker/verifiers/tdx/collateral_checks.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace collateral_internal {
namespace {

using absl::StatusCode;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;

absl::Status Unrecognised(absl::string_view detail) {
  return ImportCheckFailed(kImportCheckRecognise, StatusCode::kInvalidArgument, detail);
}

// The TDX verifier's 'collateral' check over `c` alone (nothing required): signatures by a
// pinned TCB key or a cached TCB Signing certificate chaining to an Intel root.
absl::Status CheckSignature(tdx::TdxCollateral& c, const CollateralTrust& trust,
                            const std::vector<std::string>& intel_issuers, absl::Time now) {
  c.issuer_certs = ParseIssuers(intel_issuers);
  absl::Status s = tdx::CheckCollateral(c, trust.intel, {}, now, {false, false, false});
  if (s.ok()) return s;
  absl::string_view detail = s.message();
  absl::ConsumePrefix(&detail, "evidence check 'collateral' failed: ");
  return ImportCheckFailed(kImportCheckSignature, StatusCode::kFailedPrecondition,
                           absl::StrCat(detail,
                                        " (import the Intel SGX TCB Signing certificate "
                                        "first, or pin it: intel_pinned_tcb_signing_file)"));
}

std::string CrlNumber(X509_CRL* crl) {
  Asn1IntegerPtr number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  uint64_t v = 0;
  if (!number || ASN1_INTEGER_get_uint64(&v, number.get()) != 1) return "none";
  return absl::StrCat(v);
}

X509* FindIssuer(X509_CRL* crl, const std::vector<X509*>& candidates) {
  for (X509* c : candidates) {
    if (X509_NAME_cmp(X509_get_subject_name(c), X509_CRL_get_issuer(crl)) == 0) return c;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<CollateralRecord> RecognizeTcbInfo(absl::string_view json,
                                                  const CollateralTrust& trust,
                                                  const std::vector<std::string>& intel_issuers,
                                                  absl::Time now) {
  auto info = tdx::ParseTcbInfo(json);
  if (!info.ok()) {
    return Unrecognised(
        absl::StrCat("not a TDX tcbInfo or QE identity: ", info.status().message()));
  }
  CollateralRecord r;
  r.kind = std::string(kCollateralTdxTcbInfo);
  r.not_before = info->issue_date;
  r.not_after = info->next_update;
  const std::string fmspc = HexEncode(info->fmspc);
  RETURN_IF_ERROR(
      CheckWindow(absl::StrCat("tcbInfo for FMSPC ", fmspc), r.not_before, r.not_after, now));
  r.slot = fmspc;
  r.lookup_key = fmspc;
  r.identity =
      absl::StrCat("FMSPC ", fmspc, " tcbEvaluationDataNumber ", info->tcb_evaluation_data_number);
  tdx::TdxCollateral c;
  c.tcb_info = *std::move(info);
  RETURN_IF_ERROR(CheckSignature(c, trust, intel_issuers, now));
  return r;
}

absl::StatusOr<CollateralRecord> RecognizeQeIdentity(absl::string_view json,
                                                     const CollateralTrust& trust,
                                                     const std::vector<std::string>& intel_issuers,
                                                     absl::Time now) {
  auto qe = tdx::ParseQeIdentity(json);
  if (!qe.ok()) {
    return Unrecognised(absl::StrCat("not a TD_QE enclave identity: ", qe.status().message()));
  }
  CollateralRecord r;
  r.kind = std::string(kCollateralTdxQeIdentity);
  r.not_before = qe->issue_date;
  r.not_after = qe->next_update;
  RETURN_IF_ERROR(CheckWindow(absl::StrCat(qe->id, " identity"), r.not_before, r.not_after, now));
  r.slot = qe->id;
  r.lookup_key = qe->id;
  r.identity = absl::StrCat(qe->id, " tcbEvaluationDataNumber ", qe->tcb_evaluation_data_number);
  tdx::TdxCollateral c;
  c.qe_identity = *std::move(qe);
  RETURN_IF_ERROR(CheckSignature(c, trust, intel_issuers, now));
  return r;
}

absl::StatusOr<CollateralRecord> RecognizeCrl(X509_CRL* crl, const CollateralTrust& trust,
                                              const std::vector<std::string>& intel_issuers,
                                              absl::Time now) {
  CollateralRecord r;
  r.kind = std::string(kCollateralCrl);
  r.not_before = Asn1Time(X509_CRL_get0_lastUpdate(crl), absl::InfiniteFuture());
  r.not_after = Asn1Time(X509_CRL_get0_nextUpdate(crl), absl::InfiniteFuture());
  const std::string issuer_dn = NameText(X509_CRL_get_issuer(crl));
  RETURN_IF_ERROR(CheckWindow(absl::StrCat("CRL of ", issuer_dn), r.not_before, r.not_after, now));
  std::vector<X509Ptr> cached = ParseIssuers(intel_issuers);
  std::vector<X509*> candidates;
  for (const X509Ptr& root : trust.intel.roots) candidates.push_back(root.get());
  for (const X509Ptr& c : cached) candidates.push_back(c.get());
  X509* issuer = FindIssuer(crl, candidates);
  if (issuer == nullptr) {
    return ImportCheckFailed(kImportCheckChain, StatusCode::kFailedPrecondition,
                             absl::StrCat("CRL issuer '", issuer_dn,
                                          "' is neither an Intel root nor an imported Intel PCK CA "
                                          "certificate"));
  }
  if (auto s = tdx::VerifyCrl(crl, issuer, now); !s.ok()) {
    return ImportCheckFailed(kImportCheckSignature, StatusCode::kFailedPrecondition,
                             absl::StrCat("CRL of ", issuer_dn, ": ", s.message()));
  }
  r.slot = issuer_dn;
  r.lookup_key = issuer_dn;
  r.identity = absl::StrCat("CRL of ", tdx::CertCommonName(issuer), " number ", CrlNumber(crl));
  return r;
}

}  // namespace collateral_internal
}  // namespace kb
