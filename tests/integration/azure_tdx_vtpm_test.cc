// The Azure TDX vTPM (az-tdx-vtpm) evidence path end to end on swtpm: the guest's
// AzureVtpmSource writes the binding to the HCL user-data index; the test plays the paravisor
// (an HCL report of type TDX whose TDREPORT binds runtime claims naming the swtpm's RSA AK at
// 0x81000003) and Azure IMDS (a TD quote for that TDREPORT: the real trustee Azure TD quote
// re-rooted in a test Intel PKI, its REPORTDATA replaced and re-signed by a fresh attestation
// key whose QE report the test PCK leaf signs); the broker's AzureVtpmEvidenceVerifier,
// trusting the test root, verifies it before the disk key is wrapped to the certified TPM
// transfer key and unwrapped in the swtpm.
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_tctildr.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "common/binding.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "tests/fakes/ek_test_pki.h"
#include "tests/integration/azure_paravisor.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tdx/tdx_test_util.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/esys/esys_util.h"
#include "unlocker/evidence/azure_vtpm_source.h"
#include "unlocker/flow/key_retrieval.h"

namespace kb {
namespace {

using tdx::testing::Issue;
using tdx::testing::Issued;
using tdx::testing::SignRaw;
using ::testing::HasSubstr;

// A test Intel PKI (root -> PCK CA -> PCK leaf carrying the real Azure leaf's SGX extension)
// that re-signs the real Azure TD quote for any REPORTDATA: the "IMDS" of this test.
struct TestIntel {
  tdx::TdxQuote real;
  Issued root, ca, leaf;

  static std::unique_ptr<TestIntel> Make() {
    auto t = std::make_unique<TestIntel>();
    t->real = *tdx::ParseTdxQuote(tdx::testing::ReadVector("trustee_td-quote.bin"));
    auto certs = *tdx::ParsePemCertChain(t->real.pck_cert_data);
    ASN1_OBJECT* sgx_extensions = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    const int idx = X509_get_ext_by_OBJ(certs[0].get(), sgx_extensions, -1);
    ASN1_OBJECT_free(sgx_extensions);
    EXPECT_GE(idx, 0);
    t->root = Issue("Test SGX Root CA", nullptr, 1, nullptr);
    t->ca = Issue("Test SGX PCK Platform CA", &t->root, 2, nullptr);
    t->leaf = Issue("Test SGX PCK Certificate", &t->ca, 3, X509_get_ext(certs[0].get(), idx));
    return t;
  }

  std::string RootPem() const { return Pem(root.cert.get()); }

  // The TD quote (v4) for REPORTDATA `report_data` with the real quote's measurements.
  std::string Quote(const std::string& report_data) const {
    tdx::TdxQuote q = real;
    q.signed_region.replace(0x238, 64, report_data);  // header 0x30 + body REPORTDATA 0x208
    EvpPkeyPtr ak(EVP_EC_gen("P-256"));
    std::string point(65, '\0');
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(ak.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                    reinterpret_cast<unsigned char*>(point.data()), point.size(),
                                    &len);
    q.attestation_key = point.substr(1, 64);
    q.qe_report.raw.replace(0x140, 64,
                            Sha256(q.attestation_key + q.qe_auth_data) + std::string(32, '\0'));
    q.qe_report_signature = SignRaw(leaf.key.get(), q.qe_report.raw);
    q.signature = SignRaw(ak.get(), q.signed_region);
    q.pck_cert_data = Pem(leaf.cert.get()) + Pem(ca.cert.get()) + RootPem();
    return tdx::testing::SerializeQuote(q);
  }

  // The 1024-byte TDREPORT with `report_data` and the real quote's MRTD and RTMRs.
  std::string TdReport(const std::string& report_data) const {
    std::string r(1024, '\0');
    r[0] = static_cast<char>(0x81);  // REPORTTYPE.TYPE: TDX
    r.replace(0x80, 64, report_data);
    r.replace(0x210, 48, real.body.mr_td);
    for (int i = 0; i < 4; ++i) r.replace(0x2D0 + 48 * i, 48, real.body.rtmr[i]);
    return r;
  }
};

// An AzureVtpmEvidenceVerifier trusting `root_pem` with no collateral required.
std::unique_ptr<EvidenceVerifier> TdxVerifier(const std::string& root_pem) {
  AzureTdxTrust t;
  t.anchors = *tdx::IntelTrustAnchors::FromPem(root_pem);
  t.options = {false, false, false};  // the test PKI has no PCS collateral
  return std::make_unique<AzureVtpmEvidenceVerifier>("", std::move(t), TestClock());
}

class AzureTdxVtpmTest : public AzureVtpmFixture {
 protected:
  static void SetUpTestSuite() { intel_ = TestIntel::Make().release(); }
  static void TearDownTestSuite() { delete intel_; }

  // The paravisor hook stores the HCL report for the user data just written; the TD quote hook
  // plays IMDS for the TDREPORT it is given (or quotes `quoted_report_data` when set).
  AzureVtpmOptions Options(std::optional<std::string> quoted_report_data = std::nullopt) {
    AzureVtpmOptions options;
    options.after_user_data_write = [this](absl::string_view user_data) {
      const std::string runtime =
          AzureRuntimeClaims(ak_.get(), user_data, "00000000-0000-0000-0000-00000000007d");
      const std::string td_report = intel_->TdReport(Sha256(runtime) + std::string(32, '\0'));
      return StoreHclReport(*tpm_, AzureHclReport(2, /*TDX*/ 4, td_report, runtime));
    };
    options.td_quote =
        [this, quoted_report_data](absl::string_view td_report) -> absl::StatusOr<std::string> {
      ++quotes_made_;
      return intel_->Quote(quoted_report_data.value_or(std::string(td_report.substr(0x80, 64))));
    };
    return options;
  }

  static TestIntel* intel_;
  int quotes_made_ = 0;
  const SecretBytes disk_key_ = SecretBytes::FromString(std::string(64, '\x5d'));
};

TestIntel* AzureTdxVtpmTest::intel_ = nullptr;

TEST_F(AzureTdxVtpmTest, ReleaseSucceedsEndToEnd) {
  AzureVtpmSource source(*tpm_, *tpm_, Options());
  VerifyingBroker broker(TdxVerifier(intel_->RootPem()), disk_key_);
  auto released = ObtainKey(source, broker, {"disk", 0, {0, 7}, TransferKeyType::kEccP256});
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(released->key, disk_key_));
  EXPECT_EQ(quotes_made_, 1);
  const Claims& c = broker.last_claims;
  EXPECT_EQ(c.evidence_type, "az-tdx-vtpm");
  EXPECT_EQ(c.machine, "azure-vm:00000000-0000-0000-0000-00000000007d");
  EXPECT_EQ(c.attributes.at("tdx.mrtd"), HexEncode(intel_->real.body.mr_td));
  EXPECT_EQ(c.attributes.at("tdx.tcb_status"), "NotEvaluated");
  EXPECT_EQ(c.pcrs.at("sha256").size(), 2u);

  // A second release (new binding, new TD quote) works with an RSA transfer key.
  auto again = ObtainKey(source, broker, {"disk", 0, {7}, TransferKeyType::kRsa2048});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(again->key, disk_key_));
}

TEST_F(AzureTdxVtpmTest, TdQuoteForAnotherTdReportIsRefused) {
  AzureVtpmSource source(*tpm_, *tpm_, Options(std::string(64, '\x07')));
  VerifyingBroker broker(TdxVerifier(intel_->RootPem()), disk_key_);
  auto released = ObtainKey(source, broker, {"disk", 0, {7}, TransferKeyType::kEccP256});
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(released.status().message()), HasSubstr("td_quote_binding"));
}

TEST_F(AzureTdxVtpmTest, UntrustedIntelRootIsRefused) {
  AzureVtpmSource source(*tpm_, *tpm_, Options());
  VerifyingBroker broker(TdxVerifier(std::string(tdx::EmbeddedIntelSgxRootCaPem())), disk_key_);
  auto released = ObtainKey(source, broker, {"disk", 0, {7}, TransferKeyType::kEccP256});
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(released.status().message()), HasSubstr("pck_chain"));
}

}  // namespace
}  // namespace kb
