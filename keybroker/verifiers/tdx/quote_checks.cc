#include "keybroker/verifiers/tdx/quote_checks.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/checks.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace tdx {
namespace {

using absl::StatusCode;

bool IsTrustedRoot(X509* cert, const IntelTrustAnchors& anchors) {
  const std::string der = CertDer(cert);
  for (const X509Ptr& root : anchors.roots) {
    if (!der.empty() && CertDer(root.get()) == der) return true;
  }
  return false;
}

absl::Status ChainFailed(absl::string_view detail) {
  return CheckFailed(kCheckPckChain, StatusCode::kUnauthenticated, detail);
}

}  // namespace

absl::Status CheckHeader(const TdxQuoteHeader& h) {
  auto fail = [](absl::string_view detail) {
    return CheckFailed(kCheckHeader, StatusCode::kInvalidArgument, detail);
  };
  if (h.version != kQuoteVersion4 && h.version != kQuoteVersion5) {
    return fail(absl::StrCat("quote version ", h.version, " is not supported (4, 5)"));
  }
  if (h.att_key_type != kAttKeyTypeEcdsaP256) {
    return fail(
        absl::StrCat("attestation key type ", h.att_key_type, " is not ECDSA-256-with-P-256 (2)"));
  }
  if (h.tee_type != kTeeTypeTdx) {
    return fail(absl::StrCat("TEE type 0x", absl::Hex(h.tee_type), " is not TDX (0x81)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PckChain> CheckPckChain(const TdxQuote& quote, const IntelTrustAnchors& anchors,
                                       const std::vector<X509_CRL*>& crls, absl::Time now) {
  if (quote.pck_cert_data_type != kCertDataPckChain) {
    return ChainFailed(absl::StrCat("certification data type ", quote.pck_cert_data_type,
                                    " is not a PCK certificate chain (5)"));
  }
  auto certs = ParsePemCertChain(quote.pck_cert_data);
  if (!certs.ok()) return ChainFailed(certs.status().message());
  if (certs->size() != 3) {
    return ChainFailed(
        absl::StrCat("expected leaf, PCK CA and root (3 certificates), got ", certs->size()));
  }
  PckChain chain;
  chain.certs = std::move(certs).value();
  if (!IsTrustedRoot(chain.certs[2].get(), anchors)) {
    return ChainFailed("the chain's root is not a trusted Intel SGX Root CA");
  }
  std::vector<X509*> roots;
  for (const X509Ptr& r : anchors.roots) roots.push_back(r.get());
  if (auto s = VerifyCertChain(chain.certs[0].get(), {chain.certs[1].get()}, roots, crls, now);
      !s.ok()) {
    return ChainFailed(s.message());
  }
  auto key = CertPublicKey(chain.certs[0].get());
  if (!key.ok()) return ChainFailed(key.status().message());
  chain.leaf_key = std::move(key).value();
  auto info = ParsePckExtensions(chain.certs[0].get());
  if (!info.ok()) return ChainFailed(info.status().message());
  chain.info = std::move(info).value();
  return chain;
}

absl::Status CheckQeReportSignature(const TdxQuote& quote, EVP_PKEY* pck_key) {
  auto s = VerifyEcdsaP256RawSignature(pck_key, quote.qe_report.raw, quote.qe_report_signature);
  if (!s.ok()) {
    return CheckFailed(kCheckQeReportSignature, StatusCode::kUnauthenticated,
                       absl::StrCat("QE report is not signed by the PCK key: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckQeReportBinding(const TdxQuote& quote) {
  const std::string expected =
      Sha256(absl::StrCat(quote.attestation_key, quote.qe_auth_data)) + std::string(32, '\0');
  const std::string& actual = quote.qe_report.report_data;
  if (actual.size() != expected.size() ||
      CRYPTO_memcmp(actual.data(), expected.data(), expected.size()) != 0) {
    return CheckFailed(kCheckQeReportBinding, StatusCode::kUnauthenticated,
                       "QE REPORTDATA is not SHA-256(attestation key || QE auth data)");
  }
  return absl::OkStatus();
}

absl::Status CheckQuoteSignature(const TdxQuote& quote) {
  auto key = P256KeyFromRawXy(quote.attestation_key);
  if (!key.ok()) {
    // INTERNAL: the broker could not make a P-256 key at all, not a fault of the quote.
    if (key.status().code() != absl::StatusCode::kInvalidArgument) return key.status();
    return CheckFailed(kCheckQuoteSignature, StatusCode::kUnauthenticated, key.status().message());
  }
  auto s = VerifyEcdsaP256RawSignature(key->get(), quote.signed_region, quote.signature);
  if (!s.ok()) {
    return CheckFailed(
        kCheckQuoteSignature, StatusCode::kUnauthenticated,
        absl::StrCat("header and body are not signed by the attestation key: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckReportData(const TdxQuote& quote, absl::string_view expected) {
  const std::string& actual = quote.body.report_data;
  if (expected.size() > 64 || actual.size() < expected.size()) {
    return CheckFailed(kCheckReportData, StatusCode::kInvalidArgument,
                       "expected report data exceeds 64 bytes");
  }
  if (CRYPTO_memcmp(actual.data(), expected.data(), expected.size()) != 0) {
    return CheckFailed(kCheckReportData, StatusCode::kUnauthenticated,
                       "REPORTDATA does not carry the expected value (for a release: this "
                       "challenge's binding; stale, replayed or for another key)");
  }
  return absl::OkStatus();
}

}  // namespace tdx
}  // namespace kb
