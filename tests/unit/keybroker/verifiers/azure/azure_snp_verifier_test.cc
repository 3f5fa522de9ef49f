#include "keybroker/verifiers/azure/azure_snp_verifier.h"

#include <algorithm>
#include <cstring>

#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/azure/azure_quote.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_evidence.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::snp_test::ParseTrusteeEvidence;
using ::kb::snp_test::ParseTrusteeQuote;
using ::kb::snp_test::ReadData;
using ::kb::snp_test::VerifyTime;

constexpr char kChallenge[] = "challenge";

AzureSnpVtpmInput FromEvidence(absl::string_view json_file) {
  snp_test::AzureEvidence ev = ParseTrusteeEvidence(ReadData(json_file));
  AzureSnpVtpmInput in;
  in.hcl_report = ev.hcl_report;
  in.vcek = ev.vcek;
  in.quote = ev.quote;
  in.verify_time = VerifyTime();
  return in;
}

// trustee_hcl-report.bin + its VCEK bundle + tpm-quote-v1.json (nonce "challenge").
AzureSnpVtpmInput Current() {
  AzureSnpVtpmInput in;
  in.hcl_report = ReadData("az-snp-vtpm/trustee_hcl-report.bin");
  in.vcek = ReadData("az-snp-vtpm/trustee_vcek.pem");
  in.quote = ParseTrusteeQuote(ReadData("az-snp-vtpm/trustee_tpm-quote-v1.json"));
  in.expected_nonce = kChallenge;
  in.verify_time = VerifyTime();
  return in;
}

// The 2048-byte report with tpm-quote.msg/.sig (no PCR values shipped).
AzureSnpVtpmInput Old2024() {
  AzureSnpVtpmInput in;
  in.hcl_report = ReadData("az-snp-vtpm/trustee_old2024_hcl-report.bin");
  in.vcek = ReadData("az-snp-vtpm/trustee_old2024_vcek.pem");
  in.quote.attest = ReadData("az-snp-vtpm/trustee_tpm-quote.msg");
  in.quote.signature = ReadData("az-snp-vtpm/trustee_tpm-quote.sig");
  in.expected_nonce = kChallenge;
  in.verify_time = VerifyTime();
  return in;
}

// ---- Every az-snp-vtpm vector that MANIFEST lists as VALID ----

TEST(AzureSnpVtpmTest, CurrentHclReportWithJsonQuoteVerifies) {
  auto c = VerifyAzureSnpVtpm(Current());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->snp.product, SnpProduct::kMilan);
  EXPECT_EQ(c->snp.version, 2u);
  EXPECT_EQ(c->snp.vmpl, 0u);
  EXPECT_EQ(c->snp.policy.raw, 0x3001fu);
  EXPECT_EQ(c->snp.measurement,
            "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308"
            "b459d5ef1a12e0c22944eb386d17c315");
  EXPECT_EQ(c->snp.chip_id.substr(0, 16), "19752a447db501a3");
  EXPECT_EQ(c->snp.reported_tcb.snp, 8);
  EXPECT_EQ(c->user_data, std::string(128, '0'));
  EXPECT_TRUE(c->secure_boot);
  EXPECT_EQ(c->quote_nonce, "6368616c6c656e6765");
  ASSERT_EQ(c->pcrs.size(), 24u);
  EXPECT_EQ(c->pcrs.at(0), "f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be");
}

TEST(AzureSnpVtpmTest, TpmtSignatureEncodingVerifies) {
  AzureSnpVtpmInput in = Current();
  TPMT_SIGNATURE sig = {};
  sig.sigAlg = TPM2_ALG_RSASSA;
  sig.signature.rsassa.hash = TPM2_ALG_SHA256;
  sig.signature.rsassa.sig.size = static_cast<UINT16>(in.quote.signature.size());
  memcpy(sig.signature.rsassa.sig.buffer, in.quote.signature.data(), in.quote.signature.size());
  in.quote.signature = *MarshalTpmtSignature(sig);
  in.quote.encoding = TpmSignatureEncoding::kTpmtSignature;
  auto c = VerifyAzureSnpVtpm(in);
  EXPECT_THAT(c, IsOk());
}

TEST(AzureSnpVtpmTest, CurrentHclReportWithBincodeQuoteVerifies) {
  AzureSnpVtpmInput in = Current();
  auto quote = ParseAzureBincodeQuote(ReadData("az-snp-vtpm/trustee_quote.bin"));
  ASSERT_THAT(quote, IsOk());
  in.quote = *quote;
  auto c = VerifyAzureSnpVtpm(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->pcrs.size(), 24u);
}

TEST(AzureSnpVtpmTest, Old2024HclReportWithMsgAndSigVerifies) {
  auto c = VerifyAzureSnpVtpm(Old2024());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->snp.measurement,
            "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"
            "23500644e0e692e6be917f9050d3d38c");
  EXPECT_TRUE(c->user_data.empty());
  EXPECT_EQ(c->quote_nonce, "6368616c6c656e6765");
  EXPECT_TRUE(c->pcrs.empty());  // PCR values were not shipped
}

TEST(AzureSnpVtpmTest, EvidenceV0Verifies) {
  AzureSnpVtpmInput in = FromEvidence("az-snp-vtpm/trustee_evidence-v0.json");
  in.expected_nonce = kChallenge;
  auto c = VerifyAzureSnpVtpm(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->snp.version, 3u);
  EXPECT_EQ(c->snp.measurement,
            "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6"
            "c79b75a5eb77fc769959f4aeb2f9401e");
  EXPECT_EQ(c->snp.reported_tcb.microcode, 219);
  EXPECT_EQ(c->pcrs.at(0), "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced");
}

TEST(AzureSnpVtpmTest, EvidenceV1VerifiesAndCarriesTheDerivedVcek) {
  AzureSnpVtpmInput in = FromEvidence("az-snp-vtpm/trustee_evidence-v1.json");
  EXPECT_EQ(in.vcek, ReadData("az-snp-vtpm/derived_trustee_evidence-v1_vcek.der"));
  in.expected_nonce = kChallenge;
  auto c = VerifyAzureSnpVtpm(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quote_nonce, "6368616c6c656e6765");
  EXPECT_EQ(c->pcrs.at(0), "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced");
}

TEST(AzureSnpVtpmTest, EvidenceV2VerifiesWithUserDataAndNonce) {
  const std::string report_data = *HexDecode(
      "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9a"
      "a398f647caa2338748cd0fd9f5f819ef");
  AzureSnpVtpmInput in = FromEvidence("az-snp-vtpm/trustee_evidence-v2.json");
  EXPECT_EQ(in.vcek, ReadData("az-snp-vtpm/derived_trustee_evidence-v2_vcek.der"));
  in.expected_user_data = report_data;
  in.expected_nonce = report_data;
  auto c = VerifyAzureSnpVtpm(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->snp.measurement.substr(0, 16), "5b0ce64ad1c1f637");
  EXPECT_EQ(c->pcrs.at(0), "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7");
  EXPECT_EQ(c->user_data, HexEncode(report_data + std::string(16, '\0')));
}

TEST(AzureSnpVtpmTest, GenoaEvidenceVerifies) {
  const std::string nonce = *HexDecode(
      "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938c"
      "a05475f8b46094de6b64270ea35d950f");
  AzureSnpVtpmInput in = FromEvidence("az-snp-vtpm/trustee_evidence-genoa.json");
  in.expected_nonce = nonce;
  auto c = VerifyAzureSnpVtpm(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->snp.product, SnpProduct::kGenoa);
  EXPECT_EQ(c->snp.measurement,
            "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3"
            "706faf814c9e61065768a6ff917c89ae");
  EXPECT_EQ(c->pcrs.at(0), "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338");
  // The separately shipped Genoa VCEK is the same certificate's PEM.
  in.vcek = ReadData("az-snp-vtpm/trustee_vcek-genoa.pem");
  EXPECT_THAT(VerifyAzureSnpVtpm(in), IsOk());
}

TEST(AzureSnpVtpmTest, AVcekKeptFromAnEarlierReportStillHasTheReportChecked) {
  SnpKeyCertCache cache;
  ASSERT_THAT(VerifyAzureSnpVtpm(Current(), &cache), IsOk());
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_THAT(VerifyAzureSnpVtpm(Current(), &cache), IsOk());
  AzureSnpVtpmInput in = Current();
  in.hcl_report[0x01a6] = 0;  // REPORTED_TCB.SNP of the embedded report
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in, &cache), kSnpCheckVcekTcb,
                     StatusCode::kUnauthenticated);
  EXPECT_EQ(cache.size(), 1u);
}

// ---- MANIFEST negative cases ----

TEST(AzureSnpVtpmTest, Byte0x01a6IsAnSnpVersionMismatch) {
  AzureSnpVtpmInput in = Current();
  in.hcl_report[0x01a6] = 0;  // REPORTED_TCB.SNP of the embedded report
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kSnpCheckVcekTcb, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, Byte0x06e0IsARuntimeDataDigestMismatch) {
  AzureSnpVtpmInput in = Current();
  in.hcl_report[0x06e0] += 1;
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kAzCheckRuntimeDataDigest,
                     StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, Byte0x0540IsCaughtByTheDigestBeforeTheAk) {
  // ParseRuntimeClaims alone reports ak_from_runtime_claims (azure_hcl_test.cc); the pipeline
  // stops earlier because the runtime data no longer matches the signed report.
  AzureSnpVtpmInput in = Current();
  in.hcl_report[0x0540] = 0;
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kAzCheckRuntimeDataDigest,
                     StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, QuoteSignatureFlipFails) {
  AzureSnpVtpmInput in = Current();
  in.quote.signature[0] ^= 1;
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckQuoteSignature, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, ReversedNonceFails) {
  AzureSnpVtpmInput in = Current();
  std::string reversed = kChallenge;
  std::reverse(reversed.begin(), reversed.end());
  in.expected_nonce = reversed;
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckQuoteNonce, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, PcrFlipFails) {
  AzureSnpVtpmInput in = Current();
  in.quote.pcrs_sha256[0][0] ^= 1;
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckPcrDigest, StatusCode::kUnauthenticated);
  in = Current();
  in.quote.pcrs_sha256.resize(23);  // PCR 23 is quoted but has no value
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckPcrDigest, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, WrongUserDataFails) {
  AzureSnpVtpmInput in = FromEvidence("az-snp-vtpm/trustee_evidence-v2.json");
  in.expected_user_data = *HexDecode("123abc");
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kAzCheckUserData, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, MsgAndSigFailAgainstTheCurrentReportsAk) {
  AzureSnpVtpmInput in = Current();
  in.quote = Old2024().quote;
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckQuoteSignature, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, Old2024MeasurementByteFailsTheSnpSignature) {
  AzureSnpVtpmInput in = Old2024();
  in.hcl_report[0x00b0] = 0;  // old trustee test: wrong_report[0x00b0] = 0
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kSnpCheckReportSignature,
                     StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, VmplOtherThanZeroIsRejected) {
  SnpVerifyInput snp;
  snp.report = ReadData("snp/trustee_test-vlek-report.bin");  // VMPL 1
  snp.vcek = ReadData("snp/trustee_test-vlek.der");
  snp.verify_time = VerifyTime();
  auto claims = VerifySnpReport(snp);
  ASSERT_THAT(claims, IsOk());
  EXPECT_CHECK_FAILS(CheckAzureVmpl(*claims), kAzCheckVmpl, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, WrongVcekFailsTheSnpChecks) {
  AzureSnpVtpmInput in = Current();
  in.vcek = ReadData("snp/trustee_test-vcek.der");  // same TCB, another chip
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kSnpCheckHwId, StatusCode::kUnauthenticated);
}

TEST(AzureSnpVtpmTest, MalformedInputs) {
  AzureSnpVtpmInput in = Current();
  in.hcl_report.resize(1000);
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kAzCheckHclParse, StatusCode::kInvalidArgument);
  in = Current();
  in.hcl_report = "garbage";
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kAzCheckHclParse, StatusCode::kInvalidArgument);
  in = Current();
  in.quote.attest.resize(in.quote.attest.size() - 1);
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckQuoteParse, StatusCode::kInvalidArgument);
  in = Current();
  in.quote.signature.clear();
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckQuoteParse, StatusCode::kInvalidArgument);
  in = Current();
  in.quote.encoding = TpmSignatureEncoding::kTpmtSignature;  // raw bytes are not a TPMT
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kTpmCheckQuoteParse, StatusCode::kInvalidArgument);
  in = Current();
  in.vcek = "garbage";
  EXPECT_CHECK_FAILS(VerifyAzureSnpVtpm(in), kSnpCheckParse, StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
