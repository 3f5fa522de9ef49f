// VerifyAzureTdxVtpm() over every az-tdx-vtpm vector and the MANIFEST's negative cases.
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/azure/azure_hcl.h"
#include "keybroker/verifiers/azure/azure_quote.h"
#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_tdx_evidence.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::azure_tdx_test::ReadData;
using ::testing::HasSubstr;

constexpr char kChallenge[] = "challenge";

// A verification input with the 2025 collateral for the Azure platform (FMSPC 00806f050000).
class AzureTdxVtpmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = tdx::SortCollateral(azure_tdx_test::CollateralItems());
    ASSERT_THAT(c, IsOk());
    collateral_ = std::move(*c);
  }
  AzureTdxVtpmInput Base(const std::string& hcl, const std::string& td_quote) {
    AzureTdxVtpmInput in;
    in.hcl_report = hcl;
    in.td_quote = td_quote;
    in.collateral = &collateral_;
    in.anchors = &anchors_;
    in.options.require_crls = false;
    in.verify_time = azure_tdx_test::VerifyTime();
    return in;
  }
  // trustee_hcl-report.bin + its TD quote + tpm-quote-v1.json (nonce "challenge").
  AzureTdxVtpmInput Current() {
    AzureTdxVtpmInput in = Base(ReadData(azure_tdx_test::kHcl), ReadData(azure_tdx_test::kTdQuote));
    in.quote = snp_test::ParseTrusteeQuote(ReadData("az-tdx-vtpm/trustee_tpm-quote-v1.json"));
    in.expected_nonce = kChallenge;
    return in;
  }
  // The HISTORICAL 2024 set: tpm-quote.msg/.sig (nonce "tdx challenge", no PCR values).
  AzureTdxVtpmInput Old2024() {
    AzureTdxVtpmInput in =
        Base(ReadData(azure_tdx_test::kOldHcl), ReadData(azure_tdx_test::kOldTdQuote));
    in.quote.attest = ReadData("az-tdx-vtpm/trustee_old2024_tpm-quote.msg");
    in.quote.signature = ReadData("az-tdx-vtpm/trustee_old2024_tpm-quote.sig");
    in.expected_nonce = "tdx challenge";
    return in;
  }

  tdx::IntelTrustAnchors anchors_ = azure_tdx_test::PinnedAnchors();
  tdx::TdxCollateral collateral_;
};

// ---- Every az-tdx-vtpm vector MANIFEST lists as VALID ----

TEST_F(AzureTdxVtpmTest, CurrentHclReportTdQuoteAndJsonQuoteVerify) {
  auto c = VerifyAzureTdxVtpm(Current());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->tdx.mr_td, azure_tdx_test::kMrTd);
  EXPECT_EQ(c->tdx.rtmr[0], std::string(96, '0'));
  EXPECT_FALSE(c->tdx.debug);
  EXPECT_EQ(c->tdx.fmspc, "00806f050000");
  // MANIFEST: OutOfDate against the 2025 tcbInfo (module TDX_01 OutOfDate); QE UpToDate.
  EXPECT_EQ(c->tdx.tcb_status, tdx::TcbStatus::kOutOfDate);
  EXPECT_EQ(c->tdx.qe_identity_status, tdx::TcbStatus::kUpToDate);
  auto hcl = ParseTdxHclReport(ReadData(azure_tdx_test::kHcl));
  ASSERT_THAT(hcl, IsOk());
  EXPECT_EQ(c->tdx.report_data, HexEncode(Sha256(hcl->runtime_data)) + std::string(64, '0'));
  EXPECT_EQ(c->vm_unique_id, azure_tdx_test::kVmId);
  EXPECT_TRUE(c->secure_boot);
  EXPECT_EQ(c->user_data, std::string(128, '0'));
  EXPECT_EQ(c->quote_nonce, "6368616c6c656e6765");
  ASSERT_EQ(c->pcrs.size(), 24u);
  EXPECT_EQ(c->pcrs.at(0), azure_tdx_test::kPcr0);
  EXPECT_FALSE(c->ak_spki_der.empty());
}

TEST_F(AzureTdxVtpmTest, BincodeQuoteVerifies) {
  AzureTdxVtpmInput in = Current();
  auto q = ParseAzureBincodeQuote(ReadData("az-tdx-vtpm/trustee_quote.bin"));
  ASSERT_THAT(q, IsOk());
  in.quote = *q;
  auto c = VerifyAzureTdxVtpm(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->pcrs.at(0), azure_tdx_test::kPcr0);
}

TEST_F(AzureTdxVtpmTest, TrusteeEvidenceV0AndV1Verify) {
  for (const char* f :
       {"az-tdx-vtpm/trustee_evidence-v0.json", "az-tdx-vtpm/trustee_evidence-v1.json"}) {
    SCOPED_TRACE(f);
    azure_tdx_test::TdxEvidence ev = azure_tdx_test::ParseTrusteeTdxEvidence(ReadData(f));
    EXPECT_EQ(ev.hcl_report, ReadData(azure_tdx_test::kHcl));
    AzureTdxVtpmInput in = Base(ev.hcl_report, ev.td_quote);
    in.quote = ev.quote;
    in.expected_nonce = kChallenge;
    auto c = VerifyAzureTdxVtpm(in);
    ASSERT_THAT(c, IsOk());
    EXPECT_EQ(c->tdx.mr_td, azure_tdx_test::kMrTd);
    EXPECT_EQ(c->pcrs.at(0), azure_tdx_test::kPcr0);
  }
}

TEST_F(AzureTdxVtpmTest, Old2024SetVerifiesSignatureAndNonceWithoutPcrs) {
  auto c = VerifyAzureTdxVtpm(Old2024());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->tdx.mr_td.substr(0, 16), "75f3acc2e1dfc3ac");
  EXPECT_EQ(c->tdx.tcb_status, tdx::TcbStatus::kOutOfDate);
  EXPECT_FALSE(c->secure_boot);
  EXPECT_EQ(c->vm_unique_id, "2E7D4867-9C36-4F62-92E7-F382BF5AF756");
  EXPECT_EQ(c->quote_nonce, HexEncode("tdx challenge"));
  EXPECT_TRUE(c->pcrs.empty());
}

// ---- Negative cases ----

// trustee az_tdx_vtpm test_verify_hcl_var_data_failure: "TDX Quote report data mismatch".
TEST_F(AzureTdxVtpmTest, Byte0x0880BreaksTheReportDataBinding) {
  AzureTdxVtpmInput in = Current();
  in.hcl_report[0x0880] += 1;
  auto c = VerifyAzureTdxVtpm(in);
  EXPECT_CHECK_FAILS(c, kAzCheckRuntimeDataDigest, StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("TDREPORT REPORTDATA"));
}

TEST_F(AzureTdxVtpmTest, TdQuoteOfAnotherVmIsRejected) {
  AzureTdxVtpmInput in = Current();
  in.td_quote = ReadData(azure_tdx_test::kOldTdQuote);  // genuine, but for the 2024 VM
  auto c = VerifyAzureTdxVtpm(in);
  EXPECT_CHECK_FAILS(c, kAzCheckTdQuoteBinding, StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("REPORTDATA"));
}

TEST_F(AzureTdxVtpmTest, TdReportMeasurementsMustMatchTheQuote) {
  // The TDREPORT has no off-platform signature; a changed MRTD or RTMR must not go unnoticed.
  const std::pair<std::size_t, const char*> kFields[] = {{0x20 + 0x210, "MRTD"},
                                                         {0x20 + 0x2D0, "RTMR0"},
                                                         {0x20 + 0x330, "RTMR2"},
                                                         {0x20 + 0x360 + 47, "RTMR3"}};
  for (const auto& [offset, field] : kFields) {
    SCOPED_TRACE(field);
    AzureTdxVtpmInput in = Current();
    in.hcl_report[offset] ^= 1;
    auto c = VerifyAzureTdxVtpm(in);
    EXPECT_CHECK_FAILS(c, kAzCheckTdQuoteBinding, StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(field));
  }
}

TEST_F(AzureTdxVtpmTest, TamperedTdQuoteFailsTheTdxChecks) {
  AzureTdxVtpmInput in = Current();
  in.td_quote[0x100] ^= 1;  // MRTD in the signed quote body
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), "quote_signature", StatusCode::kUnauthenticated);
  in = Current();
  in.td_quote.clear();
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), "header", StatusCode::kInvalidArgument);
}

TEST_F(AzureTdxVtpmTest, TamperedTpmQuoteSignatureNonceAndPcrs) {
  AzureTdxVtpmInput in = Current();
  in.quote.signature[0] ^= 1;
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), kTpmCheckQuoteSignature, StatusCode::kUnauthenticated);
  in = Current();
  in.expected_nonce = "egnellahc";  // trustee: nonce reversed
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), kTpmCheckQuoteNonce, StatusCode::kUnauthenticated);
  in = Current();
  in.quote.pcrs_sha256[0][0] ^= 1;
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), kTpmCheckPcrDigest, StatusCode::kUnauthenticated);
  in = Old2024();
  in.quote.signature[17] ^= 0x40;
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), kTpmCheckQuoteSignature, StatusCode::kUnauthenticated);
}

TEST_F(AzureTdxVtpmTest, UserDataMustMatchWhenExpected) {
  AzureTdxVtpmInput in = Current();
  in.expected_user_data = *HexDecode("123abc");
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), kAzCheckUserData, StatusCode::kUnauthenticated);
  in.expected_user_data = std::string(32, '\0');  // the vector's user-data is all zero
  EXPECT_THAT(VerifyAzureTdxVtpm(in), IsOk());
}

TEST_F(AzureTdxVtpmTest, CollateralIsRequiredAndTimeBound) {
  AzureTdxVtpmInput in = Current();
  in.collateral = nullptr;
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), "collateral", StatusCode::kFailedPrecondition);
  in = Current();
  in.options.require_crls = true;  // none were shipped for 2025
  EXPECT_CHECK_FAILS(VerifyAzureTdxVtpm(in), "collateral", StatusCode::kFailedPrecondition);
  in = Current();
  in.verify_time = absl::FromUnixSeconds(4'000'000'000);  // 2096: collateral long expired
  EXPECT_EQ(VerifyAzureTdxVtpm(in).status().code(), StatusCode::kUnauthenticated);
}

// ---- Parsing ----

TEST(AzureTdxHclTest, ReportTypeSelectsTheParser) {
  const std::string tdx = ReadData(azure_tdx_test::kHcl);
  auto h = ParseTdxHclReport(tdx);
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->report_type, kHclReportTypeTdx);
  EXPECT_EQ(h->hw_report.size(), kTdReportSize);
  EXPECT_EQ(h->runtime_data.size(), 1201u);
  EXPECT_THAT(std::string(ParseHclReport(tdx).status().message()), HasSubstr("not SNP"));
  const std::string snp = ReadData("az-snp-vtpm/trustee_hcl-report.bin");
  EXPECT_THAT(std::string(ParseTdxHclReport(snp).status().message()), HasSubstr("not TDX"));
  auto old = ParseTdxHclReport(ReadData(azure_tdx_test::kOldHcl));
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(old->runtime_data.size(), 1202u);
}

TEST(AzureTdxHclTest, TdReportFieldsAndRejections) {
  auto h = ParseTdxHclReport(ReadData(azure_tdx_test::kHcl));
  ASSERT_THAT(h, IsOk());
  auto td = ParseTdReport(h->hw_report);
  ASSERT_THAT(td, IsOk());
  EXPECT_EQ(HexEncode(td->mr_td), azure_tdx_test::kMrTd);
  EXPECT_EQ(td->report_data.substr(0, 32), Sha256(h->runtime_data));
  EXPECT_EQ(ParseTdReport(h->hw_report.substr(1)).status().code(), StatusCode::kInvalidArgument);
  std::string sgx = h->hw_report;
  sgx[0] = 0;  // REPORTTYPE.TYPE 0 = SGX
  EXPECT_THAT(std::string(ParseTdReport(sgx).status().message()), HasSubstr("not TDX"));
}

}  // namespace
}  // namespace kb
