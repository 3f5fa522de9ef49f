// Recognition of imported collateral: dispatch by content, and the certificates (AMD VCEK/VLEK,
// Intel TCB Signing and PCK CA).
#include "keybroker/collateral/collateral_recognizer.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/collateral/recognizer_parts.h"
#include "keybroker/verifiers/snp/amd_certs.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "keybroker/verifiers/tdx/json_span.h"

namespace kb {
namespace collateral_internal {

using absl::StatusCode;

absl::Status CheckWindow(absl::string_view what, absl::Time from, absl::Time to, absl::Time now) {
  auto text = [](absl::Time t) {
    return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
  };
  if (now < from) {
    return ImportCheckFailed(kImportCheckValidity, StatusCode::kFailedPrecondition,
                             absl::StrCat(what, " is not yet valid (valid from ", text(from), ")"));
  }
  if (now > to) {
    return ImportCheckFailed(kImportCheckValidity, StatusCode::kFailedPrecondition,
                             absl::StrCat(what, " has expired (valid until ", text(to), ")"));
  }
  return absl::OkStatus();
}

std::string EntryId(absl::string_view content) { return HexEncode(Sha256(content)).substr(0, 16); }

std::vector<X509Ptr> ParseIssuers(const std::vector<std::string>& intel_issuers) {
  std::vector<X509Ptr> out;
  for (const std::string& der : intel_issuers) {
    auto cert = ParseCertificate(der);
    if (cert.ok()) out.push_back(*std::move(cert));
  }
  return out;
}

}  // namespace collateral_internal

namespace {

using absl::StatusCode;
using collateral_internal::CheckWindow;
using collateral_internal::EntryId;
using collateral_internal::RecognizeCrl;
using collateral_internal::RecognizeQeIdentity;
using collateral_internal::RecognizeTcbInfo;

constexpr absl::string_view kPemCert = "-----BEGIN CERTIFICATE-----";
constexpr absl::string_view kPemCrl = "-----BEGIN X509 CRL-----";

absl::Status Unrecognised(absl::string_view detail) {
  return ImportCheckFailed(kImportCheckRecognise, StatusCode::kInvalidArgument, detail);
}

bool SelfIssued(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

// The certificates of `certs` that `keep` accepts.
template <typename Keep>
std::vector<X509Ptr> Filter(std::vector<X509Ptr> certs, Keep keep) {
  std::vector<X509Ptr> kept;
  for (X509Ptr& c : certs) {
    if (keep(c.get())) kept.push_back(std::move(c));
  }
  return kept;
}

// The one certificate of `content`: DER, or PEM. A PEM bundle may add its issuers as PCS and
// Azure IMDS deliver them (the root; for a leaf also the intermediate CA): they are dropped.
absl::StatusOr<X509Ptr> SingleCertificate(absl::string_view content) {
  if (!absl::StrContains(content, kPemCert)) {
    auto cert = ParseCertificate(content);
    if (!cert.ok()) return Unrecognised(cert.status().message());
    return cert;
  }
  auto certs = tdx::ParsePemCertChain(content);
  if (!certs.ok()) return Unrecognised(certs.status().message());
  if (certs->size() == 1) return std::move(certs->front());
  std::vector<X509Ptr> kept = Filter(*std::move(certs), [](X509* c) { return !SelfIssued(c); });
  if (kept.size() > 1) kept = Filter(std::move(kept), [](X509* c) { return X509_check_ca(c) < 1; });
  if (kept.size() != 1) {
    return Unrecognised("a PEM bundle must hold one certificate, optionally with its issuing CAs");
  }
  return std::move(kept.front());
}

std::string TcbText(const AmdKeyCertInfo& info) {
  return absl::StrCat(info.has_fmc_spl ? absl::StrCat("fmc=", info.fmc_spl, " ") : "",
                      "bl=", info.bl_spl, " tee=", info.tee_spl, " snp=", info.snp_spl,
                      " ucode=", info.ucode_spl);
}

absl::Status CheckAmdChain(X509* cert, const AmdKeyCertInfo& info, const CollateralTrust& trust,
                           absl::Time now) {
  auto chain_failed = [](absl::string_view why) {
    return ImportCheckFailed(kImportCheckChain, StatusCode::kFailedPrecondition, why);
  };
  std::string pem = trust.amd_chain_pem;
  if (pem.empty()) {
    auto builtin = BuiltinAmdChainPem(info.product, info.kind);
    if (!builtin.ok()) return chain_failed(builtin.status().message());
    pem = std::string(*builtin);
  }
  auto chain = ParseAmdChainPem(pem);
  if (!chain.ok()) return chain_failed(chain.status().message());
  absl::Status s = VerifyAmdChain(cert, *chain, info.product, info.kind, now);
  return s.ok() ? s : chain_failed(s.message());
}

absl::StatusOr<CollateralRecord> RecognizeAmdKeyCert(X509* cert, const CollateralTrust& trust,
                                                     absl::Time now) {
  auto info = ParseAmdKeyCert(cert);
  if (!info.ok()) return Unrecognised(info.status().message());
  if (info->product == SnpProduct::kUnknown) {
    return Unrecognised(absl::StrCat("unknown AMD productName '", info->product_name, "'"));
  }
  const bool vlek = info->kind == SnpSigner::kVlek;
  CollateralRecord r;
  r.kind = std::string(vlek ? kCollateralVlek : kCollateralVcek);
  r.not_before = Asn1Time(X509_get0_notBefore(cert), absl::InfiniteFuture());
  r.not_after = Asn1Time(X509_get0_notAfter(cert), absl::InfinitePast());
  RETURN_IF_ERROR(CheckWindow(vlek ? "VLEK" : "VCEK", r.not_before, r.not_after, now));
  RETURN_IF_ERROR(CheckAmdChain(cert, *info, trust, now));
  const std::string product(SnpProductName(info->product));
  if (vlek) {
    r.lookup_key = product;
    r.slot = absl::StrCat(product, "|", TcbText(*info), "|", HexEncode(info->csp_id));
    r.identity = absl::StrCat(product, " VLEK TCB ", TcbText(*info));
  } else {
    const std::string hw_id = HexEncode(info->hw_id);
    r.lookup_key = hw_id;
    r.slot = absl::StrCat(hw_id, "|", TcbText(*info));
    r.identity = absl::StrCat(product, " VCEK hwID ", hw_id.substr(0, 16), "... (",
                              info->hw_id.size(), " bytes) TCB ", TcbText(*info));
  }
  return r;
}

absl::StatusOr<CollateralRecord> RecognizeIntelCert(X509* cert, absl::string_view kind,
                                                    const CollateralTrust& trust, absl::Time now) {
  CollateralRecord r;
  r.kind = std::string(kind);
  r.not_before = Asn1Time(X509_get0_notBefore(cert), absl::InfiniteFuture());
  r.not_after = Asn1Time(X509_get0_notAfter(cert), absl::InfinitePast());
  const std::string cn = tdx::CertCommonName(cert);
  RETURN_IF_ERROR(CheckWindow(cn, r.not_before, r.not_after, now));
  std::vector<X509*> roots;
  for (const X509Ptr& root : trust.intel.roots) roots.push_back(root.get());
  if (auto s = tdx::VerifyCertChain(cert, {}, roots, {}, now); !s.ok()) {
    return ImportCheckFailed(kImportCheckChain, StatusCode::kFailedPrecondition,
                             absl::StrCat(cn, " does not chain to an Intel root: ", s.message()));
  }
  r.slot = NameText(X509_get_subject_name(cert));
  r.lookup_key = r.slot;
  r.identity = absl::StrCat(cn, " (issued by ", NameText(X509_get_issuer_name(cert)), ")");
  return r;
}

absl::StatusOr<CollateralRecord> RecognizeCertificate(X509* cert, const CollateralTrust& trust,
                                                      absl::Time now) {
  const std::string cn = tdx::CertCommonName(cert);
  if (cn == "SEV-VCEK" || cn == "SEV-VLEK") return RecognizeAmdKeyCert(cert, trust, now);
  if (cn == "Intel SGX TCB Signing") {
    return RecognizeIntelCert(cert, kCollateralIntelTcbSigning, trust, now);
  }
  if (cn == "Intel SGX PCK Platform CA" || cn == "Intel SGX PCK Processor CA") {
    return RecognizeIntelCert(cert, kCollateralIntelPckCa, trust, now);
  }
  if (absl::StartsWith(cn, "ARK-") || absl::StartsWith(cn, "SEV-")) {
    const char* kind = absl::StartsWith(cn, "ARK-")        ? "ark"
                       : absl::StartsWith(cn, "SEV-VLEK-") ? "asvk"
                                                           : "ask";
    return ImportCheckFailed(kImportCheckTrustAnchor, StatusCode::kFailedPrecondition,
                             absl::StrCat(kind, " '", cn,
                                          "' is an AMD trust anchor: built in, or set "
                                          "amd_chain_file; it is never cached"));
  }
  if (cn == "Intel SGX Root CA") {
    return ImportCheckFailed(kImportCheckTrustAnchor, StatusCode::kFailedPrecondition,
                             "intel root 'Intel SGX Root CA' is a trust anchor: built in, or set "
                             "intel_root_file; it is never cached");
  }
  return Unrecognised(absl::StrCat("certificate '", cn,
                                   "' is not a VCEK, VLEK, Intel TCB Signing or PCK CA "
                                   "certificate"));
}

// Certificate or CRL, from DER or PEM.
absl::StatusOr<CollateralRecord> RecognizeBinary(absl::string_view content,
                                                 const CollateralTrust& trust,
                                                 const std::vector<std::string>& intel_issuers,
                                                 absl::Time now) {
  const bool pem_crl = absl::StrContains(content, kPemCrl);
  if (!pem_crl) {
    auto cert = SingleCertificate(content);
    if (cert.ok()) {
      ASSIGN_OR_RETURN(CollateralRecord r, RecognizeCertificate(cert->get(), trust, now));
      r.content = tdx::CertDer(cert->get());  // the certificate alone, without a bundled root
      return r;
    }
    if (absl::StrContains(content, kPemCert)) return cert.status();
  }
  auto crl = tdx::ParseCrl(content);
  ERR_clear_error();
  if (!crl.ok()) {
    return Unrecognised(
        "not a certificate, CRL, TDX tcbInfo or QE identity (PEM, DER or PCS JSON)");
  }
  ASSIGN_OR_RETURN(CollateralRecord r, RecognizeCrl(crl->get(), trust, intel_issuers, now));
  r.content = std::string(content);
  return r;
}

absl::string_view TrimLeft(absl::string_view s) {
  while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

}  // namespace

absl::Status ImportCheckFailed(absl::string_view check, absl::StatusCode code,
                               absl::string_view detail) {
  return absl::Status(code, absl::StrCat("collateral check '", check, "' failed: ", detail));
}

absl::StatusOr<CollateralRecord> RecognizeCollateral(absl::string_view content,
                                                     const CollateralTrust& trust,
                                                     const std::vector<std::string>& intel_issuers,
                                                     absl::Time now) {
  if (content.empty()) return Unrecognised("the content is empty");
  absl::StatusOr<CollateralRecord> r;
  if (absl::StartsWith(TrimLeft(content), "{")) {
    r = tdx::TopLevelValueSpan(content, "enclaveIdentity").ok()
            ? RecognizeQeIdentity(content, trust, intel_issuers, now)
            : RecognizeTcbInfo(content, trust, intel_issuers, now);
    if (r.ok()) r->content = std::string(content);
  } else {
    r = RecognizeBinary(content, trust, intel_issuers, now);
  }
  if (r.ok()) r->id = EntryId(r->content);
  return r;
}

}  // namespace kb
