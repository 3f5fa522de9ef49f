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
#include "tests/fakes/ek_test_pki.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tdx/tdx_test_util.h"

namespace kb {
namespace tdx {
namespace {

using testing::At;
using testing::ExpectCheck;
using ::testing::HasSubstr;
using testing::Issue;
using testing::Issued;
using testing::ReadVector;
using testing::SerializeQuote;
using testing::SignRaw;

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

class RevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    quote_ = *ParseTdxQuote(ReadVector("trustee_tdx_quote_5.dat"));
    auto real = *ParsePemCertChain(quote_.pck_cert_data);
    ASN1_OBJECT* sgx_extensions = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = X509_get_ext_by_OBJ(real[0].get(), sgx_extensions, -1);
    ASN1_OBJECT_free(sgx_extensions);
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

TEST_F(RevocationTest, UnrevokedChainVerifies) { EXPECT_THAT(Verify(0), IsOk()); }

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
