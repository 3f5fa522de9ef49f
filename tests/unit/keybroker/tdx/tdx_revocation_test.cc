// Revocation through CRLs (teekit quote-tdxv5.test.ts "revoked via CRL"). Intel's keys are not
// available, so the test re-roots a real quote in a test PKI (root -> PCK CA -> leaf carrying the
// real leaf's SGX extension), re-signs its QE report with the test leaf key and trusts the test
// root through IntelTrustAnchors::FromPem.
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"
#include "tests/unit/keybroker/tdx/tdx_test_util.h"

namespace kb {
namespace tdx {
namespace {

using testing::At;
using testing::ExpectCheck;
using ::testing::HasSubstr;
using testing::ReadVector;
using testing::SerializeQuote;

struct Issued {
  EvpPkeyPtr key;
  X509Ptr cert;
};

void SetName(X509_NAME* name, const char* cn) {
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
}

// A P-256 certificate for `cn`, signed by `issuer` (self-signed when null), serial `serial`.
Issued Issue(const char* cn, const Issued* issuer, long serial, X509_EXTENSION* extra) {
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -86400L * 365);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 365 * 30);
  SetName(X509_get_subject_name(c), cn);
  X509_set_issuer_name(
      c, issuer ? X509_get_subject_name(issuer->cert.get()) : X509_get_subject_name(c));
  X509_set_pubkey(c, out.key.get());
  if (issuer == nullptr || extra == nullptr) {
    X509_EXTENSION* bc =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(c, bc, -1);
    X509_EXTENSION_free(bc);
  }
  if (extra != nullptr) X509_add_ext(c, extra, -1);
  X509_sign(c, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

std::string Pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

X509CrlPtr Crl(const Issued& issuer, long revoked_serial) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get()));
  ASN1_TIME* now = X509_gmtime_adj(nullptr, -3600);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, 86400L * 30);
  X509_CRL_set1_lastUpdate(crl.get(), now);
  X509_CRL_set1_nextUpdate(crl.get(), next);
  if (revoked_serial > 0) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* serial = ASN1_INTEGER_new();
    ASN1_INTEGER_set(serial, revoked_serial);
    X509_REVOKED_set_serialNumber(r, serial);
    X509_REVOKED_set_revocationDate(r, now);
    X509_CRL_add0_revoked(crl.get(), r);
    ASN1_INTEGER_free(serial);
  }
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256());
  return crl;
}

// Raw r||s ECDSA P-256 signature of SHA-256(msg).
std::string SignRaw(EVP_PKEY* key, const std::string& msg) {
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key);
  std::size_t len = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(msg.data());
  EVP_DigestSign(md.get(), nullptr, &len, m, msg.size());
  std::string der(len, '\0');
  EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &len, m, msg.size());
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(&out[0]), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(&out[32]), 32);
  return out;
}

class RevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    quote_ = *ParseTdxQuote(ReadVector("trustee_tdx_quote_5.dat"));
    auto real = *ParsePemCertChain(quote_.pck_cert_data);
    int idx = X509_get_ext_by_OBJ(real[0].get(), OBJ_txt2obj("1.2.840.113741.1.13.1", 1), -1);
    ASSERT_GE(idx, 0);
    root_ = Issue("Test SGX Root CA", nullptr, 1, nullptr);
    ca_ = Issue("Test SGX PCK Platform CA", &root_, 2, nullptr);
    leaf_ = Issue("Test SGX PCK Certificate", &ca_, 77, X509_get_ext(real[0].get(), idx));
    quote_.pck_cert_data = Pem(leaf_.cert.get()) + Pem(ca_.cert.get()) + Pem(root_.cert.get());
    quote_.qe_report_signature = SignRaw(leaf_.key.get(), quote_.qe_report.raw);
    bytes_ = SerializeQuote(quote_);
    anchors_ = *IntelTrustAnchors::FromPem(Pem(root_.cert.get()));
  }

  absl::Status Verify(long revoked_serial) {
    collateral_.crls.clear();
    collateral_.crls.push_back(Crl(root_, 0));
    collateral_.crls.push_back(Crl(ca_, revoked_serial));
    TdxVerifyInput in;
    in.quote = bytes_;
    in.collateral = &collateral_;
    in.anchors = &anchors_;
    in.now = absl::Now();
    in.options = {false, false, true};
    return VerifyTdxQuote(in).status();
  }

  TdxQuote quote_;
  std::string bytes_;
  Issued root_, ca_, leaf_;
  IntelTrustAnchors anchors_;
  TdxCollateral collateral_;
};

TEST_F(RevocationTest, UnrevokedChainVerifies) { EXPECT_TRUE(Verify(0).ok()) << Verify(0); }

TEST_F(RevocationTest, RevokedPckLeafIsRejected) {
  auto s = Verify(77);
  ExpectCheck(s, "pck_chain", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("revoked"));
}

TEST_F(RevocationTest, MissingPckCaCrlIsRejected) {
  collateral_.crls.clear();
  collateral_.crls.push_back(Crl(root_, 0));
  TdxVerifyInput in;
  in.quote = bytes_;
  in.collateral = &collateral_;
  in.anchors = &anchors_;
  in.now = absl::Now();
  in.options = {false, false, true};
  ExpectCheck(VerifyTdxQuote(in).status(), "pck_chain", absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace tdx
}  // namespace kb
