#include "keybroker/verifiers/tdx/collateral_checks.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/checks.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace tdx {
namespace {

using absl::StatusCode;

constexpr absl::string_view kTcbSigningCn = "Intel SGX TCB Signing";

absl::Status Failed(absl::string_view detail) {
  return CheckFailed(kCheckCollateral, StatusCode::kUnauthenticated, detail);
}

absl::Status Missing(absl::string_view what) {
  return CheckFailed(kCheckCollateral, StatusCode::kFailedPrecondition,
                     absl::StrCat(what, " is required but was not supplied"));
}

absl::Status CheckWindow(absl::string_view what, absl::Time issue, absl::Time next,
                         absl::Time now) {
  if (now < issue) {
    return Failed(
        absl::StrCat(what, " is not yet valid (issueDate ", absl::FormatTime(issue), ")"));
  }
  if (now > next) {
    return Failed(absl::StrCat(what, " has expired (nextUpdate ", absl::FormatTime(next), ")"));
  }
  return absl::OkStatus();
}

std::vector<X509*> Roots(const IntelTrustAnchors& anchors) {
  std::vector<X509*> roots;
  for (const X509Ptr& r : anchors.roots) roots.push_back(r.get());
  return roots;
}

std::vector<X509_CRL*> Crls(const TdxCollateral& c) {
  std::vector<X509_CRL*> crls;
  for (const X509CrlPtr& crl : c.crls) crls.push_back(crl.get());
  return crls;
}

// Verifies `signature` over `text` with a pinned key or a chained TCB signing certificate.
absl::Status CheckSigned(absl::string_view what, absl::string_view text,
                         absl::string_view signature, const TdxCollateral& c,
                         const IntelTrustAnchors& anchors, absl::Time now) {
  for (const X509Ptr& pinned : anchors.pinned_tcb_signers) {
    auto key = CertPublicKey(pinned.get());
    if (key.ok() && VerifyEcdsaP256RawSignature(key->get(), text, signature).ok()) {
      return absl::OkStatus();
    }
  }
  X509* signer = nullptr;
  for (const X509Ptr& cert : c.issuer_certs) {
    if (CertCommonName(cert.get()) == kTcbSigningCn) signer = cert.get();
  }
  if (signer == nullptr) {
    if (!anchors.pinned_tcb_signers.empty()) {
      return Failed(absl::StrCat(what, " signature does not verify with a pinned TCB key"));
    }
    return Missing(absl::StrCat("the TCB signing certificate for ", what));
  }
  if (auto s = VerifyCertChain(signer, {}, Roots(anchors), Crls(c), now); !s.ok()) {
    return Failed(absl::StrCat("TCB signing certificate: ", s.message()));
  }
  ASSIGN_OR_RETURN(EvpPkeyPtr key, CertPublicKey(signer));
  if (auto s = VerifyEcdsaP256RawSignature(key.get(), text, signature); !s.ok()) {
    return Failed(absl::StrCat(what, " signature: ", s.message()));
  }
  return absl::OkStatus();
}

X509* FindIssuer(X509_CRL* crl, const std::vector<X509*>& candidates) {
  for (X509* c : candidates) {
    if (X509_NAME_cmp(X509_get_subject_name(c), X509_CRL_get_issuer(crl)) == 0) return c;
  }
  return nullptr;
}

absl::Status CheckCrls(const TdxCollateral& c, const IntelTrustAnchors& anchors,
                       const std::vector<X509*>& extra_issuers, absl::Time now, bool required) {
  if (required && c.crls.empty()) return Missing("the Root CA and PCK CA CRLs");
  std::vector<X509*> issuers = Roots(anchors);
  for (const X509Ptr& cert : c.issuer_certs) issuers.push_back(cert.get());
  issuers.insert(issuers.end(), extra_issuers.begin(), extra_issuers.end());
  for (std::size_t i = 0; i < c.crls.size(); ++i) {
    X509* issuer = FindIssuer(c.crls[i].get(), issuers);
    if (issuer == nullptr) return Failed(absl::StrCat("CRL ", i, " has an unknown issuer"));
    if (auto s = VerifyCrl(c.crls[i].get(), issuer, now); !s.ok()) {
      return Failed(absl::StrCat("CRL ", i, " (", CertCommonName(issuer), "): ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCollateral(const TdxCollateral& c, const IntelTrustAnchors& anchors,
                             const std::vector<X509*>& extra_issuers, absl::Time now,
                             const CollateralRequirements& required) {
  if (c.tcb_info) {
    RETURN_IF_ERROR(CheckWindow("tcbInfo", c.tcb_info->issue_date, c.tcb_info->next_update, now));
  } else if (required.tcb_info) {
    return Missing("tcbInfo");
  }
  if (c.qe_identity) {
    RETURN_IF_ERROR(
        CheckWindow("QE identity", c.qe_identity->issue_date, c.qe_identity->next_update, now));
  } else if (required.qe_identity) {
    return Missing("QE identity");
  }
  RETURN_IF_ERROR(CheckCrls(c, anchors, extra_issuers, now, required.crls));
  if (c.tcb_info) {
    RETURN_IF_ERROR(
        CheckSigned("tcbInfo", c.tcb_info->signed_text, c.tcb_info->signature, c, anchors, now));
  }
  if (c.qe_identity) {
    RETURN_IF_ERROR(CheckSigned("QE identity", c.qe_identity->signed_text, c.qe_identity->signature,
                                c, anchors, now));
  }
  return absl::OkStatus();
}

}  // namespace tdx
}  // namespace kb
