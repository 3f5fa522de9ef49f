#include "keybroker/verifiers/tdx/intel_pki.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/ec_keys.h"
#include "common/status_macros.h"

namespace kb {
namespace tdx {
namespace {

using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

constexpr absl::string_view kBeginCert = "-----BEGIN CERTIFICATE-----";
constexpr absl::string_view kEndCert = "-----END CERTIFICATE-----";
constexpr absl::string_view kBeginCrl = "-----BEGIN X509 CRL-----";

bool IsPadding(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0'; }

absl::string_view SkipPadding(absl::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && IsPadding(s[i])) ++i;
  return s.substr(i);
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParsePemCertChain(absl::string_view pem) {
  std::vector<X509Ptr> certs;
  absl::string_view rest = SkipPadding(pem);
  while (!rest.empty()) {
    if (!absl::StartsWith(rest, kBeginCert)) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", certs.size(), ": expected a PEM CERTIFICATE block"));
    }
    std::size_t end = rest.find(kEndCert);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", certs.size(), ": PEM block has no END line"));
    }
    absl::string_view block = rest.substr(0, end + kEndCert.size());
    BioPtr bio = MemBio(block);
    X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) {
      return OpenSslError(absl::StrCat("certificate ", certs.size(), " does not parse"),
                          absl::StatusCode::kInvalidArgument);
    }
    certs.push_back(std::move(cert));
    rest = SkipPadding(rest.substr(block.size()));
  }
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate found");
  return certs;
}

absl::StatusOr<X509CrlPtr> ParseCrl(absl::string_view pem_or_der) {
  absl::string_view text = SkipPadding(pem_or_der);
  X509CrlPtr crl;
  if (absl::StartsWith(text, kBeginCrl)) {
    BioPtr bio = MemBio(text);
    if (bio) crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(pem_or_der.data());
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(pem_or_der.size())));
    if (crl && p != reinterpret_cast<const unsigned char*>(pem_or_der.data()) + pem_or_der.size()) {
      return absl::InvalidArgumentError("CRL has trailing bytes after the DER encoding");
    }
  }
  if (!crl) return OpenSslError("not a CRL (PEM or DER)", absl::StatusCode::kInvalidArgument);
  return crl;
}

std::string CertDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return "";
  std::unique_ptr<unsigned char, OpenSslFree> owned(der);
  return std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
}

std::string CertCommonName(X509* cert) {
  char buf[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf)) <=
      0) {
    return "";
  }
  return buf;
}

absl::StatusOr<EvpPkeyPtr> CertPublicKey(X509* cert) {
  EvpPkeyPtr key(X509_get_pubkey(cert));
  if (!key) return OpenSslError("certificate public key", absl::StatusCode::kInvalidArgument);
  return key;
}

absl::Status VerifyCertChain(X509* leaf, const std::vector<X509*>& intermediates,
                             const std::vector<X509*>& roots, const std::vector<X509_CRL*>& crls,
                             absl::Time now) {
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return OpenSslError("allocating an X509 store");
  for (X509* root : roots) {
    if (X509_STORE_add_cert(store.get(), root) != 1) return OpenSslError("adding a trust anchor");
  }
  for (X509_CRL* crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl) != 1) return OpenSslError("adding a CRL");
  }
  for (X509* c : intermediates) {
    if (sk_X509_push(untrusted.get(), c) <= 0) return OpenSslError("building the chain");
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return OpenSslError("initialising chain verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  if (!crls.empty()) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    return absl::UnauthenticatedError(
        absl::StrCat("certificate at depth ", depth, ": ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

absl::Status VerifyCrl(X509_CRL* crl, X509* issuer, absl::Time now) {
  EvpPkeyPtr key(X509_get_pubkey(issuer));
  if (!key || X509_CRL_verify(crl, key.get()) != 1) {
    return OpenSslError("CRL signature does not verify with its issuer's key",
                        absl::StatusCode::kUnauthenticated);
  }
  time_t t = absl::ToTimeT(now);
  const ASN1_TIME* this_update = X509_CRL_get0_lastUpdate(crl);
  const ASN1_TIME* next_update = X509_CRL_get0_nextUpdate(crl);
  if (this_update == nullptr || X509_cmp_time(this_update, &t) > 0) {
    return absl::UnauthenticatedError("CRL is not yet valid (thisUpdate is after now)");
  }
  if (next_update == nullptr || X509_cmp_time(next_update, &t) < 0) {
    return absl::UnauthenticatedError("CRL has expired (nextUpdate is before now)");
  }
  return absl::OkStatus();
}

absl::Status VerifyEcdsaP256RawSignature(EVP_PKEY* key, absl::string_view message,
                                         absl::string_view signature_rs) {
  if (signature_rs.size() != 64) {
    return absl::InvalidArgumentError("ECDSA P-256 signature must be 64 bytes (r||s)");
  }
  const auto* rs = reinterpret_cast<const unsigned char*>(signature_rs.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(rs, 32, nullptr));
  BignumPtr s(BN_bin2bn(rs + 32, 32, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return OpenSslError("building an ECDSA signature");
  }
  r.release();  // owned by `sig` now
  s.release();
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return OpenSslError("encoding an ECDSA signature");
  std::unique_ptr<unsigned char, OpenSslFree> owned(der);
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return OpenSslError("initialising ECDSA verification");
  }
  int ok = EVP_DigestVerify(md.get(), der, static_cast<std::size_t>(der_len),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size());
  if (ok != 1) {
    return OpenSslError("ECDSA P-256 signature does not verify",
                        absl::StatusCode::kUnauthenticated);
  }
  return absl::OkStatus();
}

absl::StatusOr<EvpPkeyPtr> P256KeyFromRawXy(absl::string_view xy) {
  if (xy.size() != 64) return absl::InvalidArgumentError("P-256 key must be 64 bytes (X||Y)");
  absl::StatusOr<EvpPkeyPtr> key = EcPublicKey("prime256v1", absl::StrCat("\x04", xy));
  if (key.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError("not a P-256 point");
  }
  return key;
}

}  // namespace tdx
}  // namespace kb
