// The broker's TEE EvidenceVerifiers over the real vectors. Real reports cannot carry a broker
// binding, so the binding passed in is the report's own REPORT_DATA prefix (positive cases)
// or a different value (the named binding check must fail).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"
#include "keybroker/verifiers/snp/snp_evidence_verifier.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::kb::snp_test::At;
using ::kb::snp_test::ReadData;
using ::testing::HasSubstr;

#define EXPECT_CHECK(expr, check, code) EXPECT_CHECK_FAILS(expr, check, code)

v1::TransferKey SpkiKey() {
  v1::TransferKey tk;
  tk.set_spki_der("spki-der-bytes");  // bound through the binding only; not parsed here
  return tk;
}

v1::Evidence SnpEvidence() {
  v1::Evidence e;
  e.mutable_snp_report()->set_report(ReadData("snp/trustee_test-report.bin"));
  e.mutable_snp_report()->set_vcek(ReadData("snp/trustee_test-vcek.der"));
  return e;
}

// REPORT_DATA[0:32] of an SNP report (offset 0x50).
std::string SnpBinding(const std::string& report) { return report.substr(0x50, 32); }

TEST(SnpEvidenceVerifierTest, VerifiesAndReportsClaims) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  SnpEvidenceVerifier v("", &clock);
  v1::Evidence e = SnpEvidence();
  auto claims = v.Verify(e, SpkiKey(), SnpBinding(e.snp_report().report()));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "snp");
  EXPECT_THAT(claims->machine, HasSubstr("snp-chip:"));
  EXPECT_EQ(claims->attributes.at("snp.debug"), "false");
  EXPECT_EQ(claims->attributes.at("snp.measurement").size(), 96u);
  EXPECT_EQ(claims->attributes.count("snp.reported_tcb.microcode"), 1u);
}

TEST(SnpEvidenceVerifierTest, BindingMismatchFailsReportData) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  SnpEvidenceVerifier v("", &clock);
  EXPECT_CHECK(v.Verify(SnpEvidence(), SpkiKey(), std::string(32, 'x')), "report_data",
               absl::StatusCode::kUnauthenticated);
}

TEST(SnpEvidenceVerifierTest, DryRunSkipsTheBindingAndNeedsNoTransferKey) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  SnpEvidenceVerifier v("", &clock);
  auto claims = v.VerifyUnbound(SnpEvidence(), v1::TransferKey());
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "snp");
  v1::TransferKey tpm_key;
  tpm_key.mutable_tpm()->set_public_area("x");
  EXPECT_CHECK(v.VerifyUnbound(SnpEvidence(), tpm_key), "parse",
               absl::StatusCode::kInvalidArgument);
}

TEST(SnpEvidenceVerifierTest, NeedsATeeTransferKeyAndAVcek) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  SnpEvidenceVerifier v("", &clock);
  v1::TransferKey tpm_key;
  tpm_key.mutable_tpm()->set_public_area("x");
  EXPECT_CHECK(v.Verify(SnpEvidence(), tpm_key, "b"), "parse", absl::StatusCode::kInvalidArgument);
  v1::Evidence no_vcek = SnpEvidence();
  no_vcek.mutable_snp_report()->clear_vcek();
  EXPECT_CHECK(v.Verify(no_vcek, SpkiKey(), "b"), "parse", absl::StatusCode::kInvalidArgument);
}

TEST(SnpEvidenceVerifierTest, ExpiredAtTheClockFailsTheChain) {
  FakeClock clock(At("2090-01-01T00:00:00Z"));
  SnpEvidenceVerifier v("", &clock);
  v1::Evidence e = SnpEvidence();
  EXPECT_CHECK(v.Verify(e, SpkiKey(), SnpBinding(e.snp_report().report())), "cert_chain",
               absl::StatusCode::kUnauthenticated);
}

std::string CertTable(const std::string& guid_hex, const std::string& cert) {
  std::string table = *HexDecode(guid_hex);
  const uint32_t offset = 48, length = static_cast<uint32_t>(cert.size());
  for (uint32_t v : {offset, length}) {
    for (int i = 0; i < 4; ++i) table.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  table += std::string(24, '\0');  // terminator
  return table + cert;
}

TEST(SnpEvidenceVerifierTest, VcekFromTheExtendedReportCertTable) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  SnpEvidenceVerifier v("", &clock);
  v1::Evidence e = SnpEvidence();
  const std::string vcek = e.snp_report().vcek();
  e.mutable_snp_report()->clear_vcek();
  e.mutable_snp_report()->set_cert_table(CertTable("63da758de6644564adc5f4b93be8accd", vcek));
  EXPECT_THAT(v.Verify(e, SpkiKey(), SnpBinding(e.snp_report().report())), IsOk());
  // A table holding only an ARK entry has no usable key certificate.
  EXPECT_CHECK(SnpKeyCertFromCertTable(CertTable("4ab7b379bbac4fe4a02f05aef327c782", vcek)),
               "parse", absl::StatusCode::kInvalidArgument);
  EXPECT_CHECK(SnpKeyCertFromCertTable(std::string(30, '\x01')), "parse",
               absl::StatusCode::kInvalidArgument);
}

std::unique_ptr<const TdxCollateralCache> GoTdxCollateral() {
  std::vector<std::string> items;
  for (const char* f :
       {"gotdx_tcbInfo_fmspc50806f000000.json", "gotdx_qeIdentity.json",
        "derived_gotdx_tcbInfoIssuerChain.pem", "derived_gotdx_pckCrlIssuerChain.pem",
        "gotdx_rootcrl.der", "gotdx_pckcrl_platform.der"}) {
    items.push_back(ReadData(absl::StrCat("tdx/", f)));
  }
  auto cache = TdxCollateralCache::FromItems(items);
  EXPECT_THAT(cache, IsOk());
  return cache.ok() ? std::move(*cache) : nullptr;
}

v1::Evidence TdxEvidence() {
  v1::Evidence e;
  e.mutable_tdx_quote()->set_quote(ReadData("tdx/trustee_tdx_quote_4.dat"));
  return e;
}

// REPORTDATA[0:32] of a v4 TDX quote (header 48 + body offset 520).
std::string TdxBinding(const std::string& quote) { return quote.substr(48 + 520, 32); }

TEST(TdxEvidenceVerifierTest, VerifiesWithCachedCollateral) {
  FakeClock clock(At("2023-07-01T00:00:00Z"));
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), GoTdxCollateral(), &clock);
  v1::Evidence e = TdxEvidence();
  auto claims = v.Verify(e, SpkiKey(), TdxBinding(e.tdx_quote().quote()));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "tdx");
  EXPECT_EQ(claims->attributes.at("tdx.tcb_status"), "UpToDate");
  EXPECT_EQ(claims->attributes.at("tdx.debug"), "true");
  EXPECT_EQ(claims->machine, "tdx-fmspc:50806f000000");
}

TEST(TdxEvidenceVerifierTest, BindingMismatchFailsReportData) {
  FakeClock clock(At("2023-07-01T00:00:00Z"));
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), GoTdxCollateral(), &clock);
  EXPECT_CHECK(v.Verify(TdxEvidence(), SpkiKey(), std::string(32, 'x')), "report_data",
               absl::StatusCode::kUnauthenticated);
}

TEST(TdxEvidenceVerifierTest, DryRunSkipsTheBinding) {
  FakeClock clock(At("2023-07-01T00:00:00Z"));
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), GoTdxCollateral(), &clock);
  auto claims = v.VerifyUnbound(TdxEvidence(), v1::TransferKey());
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "tdx");
}

TEST(TdxEvidenceVerifierTest, NoCollateralIsANamedFailure) {
  FakeClock clock(At("2023-07-01T00:00:00Z"));
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), nullptr, &clock);
  v1::Evidence e = TdxEvidence();
  EXPECT_CHECK(v.Verify(e, SpkiKey(), TdxBinding(e.tdx_quote().quote())), "collateral",
               absl::StatusCode::kFailedPrecondition);
}

TEST(TdxEvidenceVerifierTest, ExpiredCollateralAtTheClock) {
  FakeClock clock(At("2053-07-01T00:00:00Z"));
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), GoTdxCollateral(), &clock);
  v1::Evidence e = TdxEvidence();
  auto s = v.Verify(e, SpkiKey(), TdxBinding(e.tdx_quote().quote())).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
}

v1::Evidence AzureEvidence() {
  v1::Evidence e;
  v1::AzureVtpmEvidence* az = e.mutable_azure_vtpm();
  az->set_kind(v1::AZURE_VTPM_KIND_SNP);
  az->set_hcl_report(ReadData("az-snp-vtpm/trustee_old2024_hcl-report.bin"));
  az->set_vcek(ReadData("az-snp-vtpm/trustee_old2024_vcek.pem"));
  az->mutable_quote()->set_attest(ReadData("az-snp-vtpm/trustee_tpm-quote.msg"));
  az->mutable_quote()->set_signature(ReadData("az-snp-vtpm/trustee_tpm-quote.sig"));
  return e;
}

v1::TransferKey TpmKey() {
  v1::TransferKey tk;
  tk.mutable_tpm()->set_public_area("not checked before the HCL checks");
  return tk;
}

TEST(AzureVtpmEvidenceVerifierTest, BindingMustBeTheRuntimeClaimsUserData) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  AzureVtpmEvidenceVerifier v("", &clock);
  // The vector's quote nonce is "challenge"; its runtime claims carry no such user-data.
  EXPECT_CHECK(v.Verify(AzureEvidence(), TpmKey(), "challenge"), "user_data",
               absl::StatusCode::kUnauthenticated);
}

TEST(AzureVtpmEvidenceVerifierTest, DryRunSkipsUserDataAndNonce) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  AzureVtpmEvidenceVerifier v("", &clock);
  auto claims = v.VerifyUnbound(AzureEvidence(), v1::TransferKey());
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "az-snp-vtpm");
}

TEST(AzureVtpmEvidenceVerifierTest, RejectsOtherKindsAndTransferKeys) {
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  AzureVtpmEvidenceVerifier v("", &clock);
  EXPECT_CHECK(v.Verify(AzureEvidence(), SpkiKey(), "challenge"), "parse",
               absl::StatusCode::kInvalidArgument);
  v1::Evidence tdx = AzureEvidence();
  tdx.mutable_azure_vtpm()->set_kind(v1::AZURE_VTPM_KIND_TDX);
  EXPECT_CHECK(v.Verify(tdx, TpmKey(), "challenge"), "parse", absl::StatusCode::kInvalidArgument);
  v1::Evidence flipped = AzureEvidence();
  (*flipped.mutable_azure_vtpm()->mutable_hcl_report())[0x6e0] ^= 1;
  EXPECT_EQ(v.Verify(flipped, TpmKey(), "challenge").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AzureVtpmEvidenceVerifierTest, QuoteFromProtoPlacesPcrsAndDetectsEncoding) {
  v1::TpmQuoteEvidence q;
  q.set_signature(std::string(256, '\x01'));
  v1::PcrValue* p = q.add_pcrs();
  p->set_bank("sha256");
  p->set_index(3);
  p->set_digest(std::string(32, '\x03'));
  auto quote = AzureQuoteFromProto(q);
  ASSERT_THAT(quote, IsOk());
  EXPECT_EQ(quote->encoding, TpmSignatureEncoding::kRawRsassaSha256);
  ASSERT_EQ(quote->pcrs_sha256.size(), 4u);
  EXPECT_EQ(quote->pcrs_sha256[3], std::string(32, '\x03'));
  p->set_bank("sha1");
  EXPECT_CHECK(AzureQuoteFromProto(q), "parse", absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
