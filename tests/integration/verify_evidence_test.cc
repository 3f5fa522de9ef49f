// `keybrokerctl verify-evidence` over the real vectors in tests/data (offline: no broker).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

std::string Data(const std::string& relative) { return SourcePath("tests/data/" + relative); }

CommandResult Verify(std::vector<std::string> args) {
  args.insert(args.begin(), {BinaryPath("keybrokerctl"), "verify-evidence"});
  return RunCommand(args);
}

// A copy of a vector with byte `offset` incremented, in a temporary file.
std::string Flipped(const std::string& relative, size_t offset) {
  auto bytes = ReadFile(Data(relative));
  EXPECT_THAT(bytes, IsOk());
  std::string b = bytes.ok() ? *bytes : std::string();
  if (offset < b.size()) b[offset] = static_cast<char>(b[offset] + 1);
  const std::string path = absl::StrCat(::testing::TempDir(), "/flipped_", offset, "_",
                                        relative.substr(relative.rfind('/') + 1));
  std::ofstream(path, std::ios::binary) << b;
  return path;
}

// The go-tdx-guest 2023 collateral (tcbInfo, QE identity, issuer chains, CRLs) in one dir.
std::string TdxCollateralDir() {
  const std::string dir = ::testing::TempDir() + "/tdx_collateral";
  RunCommand({"/bin/mkdir", "-p", dir});
  for (const char* f :
       {"gotdx_tcbInfo_fmspc50806f000000.json", "gotdx_qeIdentity.json",
        "derived_gotdx_tcbInfoIssuerChain.pem", "derived_gotdx_pckCrlIssuerChain.pem",
        "gotdx_rootcrl.der", "gotdx_pckcrl_platform.der"}) {
    RunCommand({"/bin/cp", Data(absl::StrCat("tdx/", f)), dir + "/"});
  }
  return dir;
}

constexpr char kAt2025[] = "2025-06-01T00:00:00Z";

TEST(VerifyEvidenceTest, ValidSnpReportPrintsClaims) {
  CommandResult r = Verify({"--type", "snp", "--report", Data("snp/trustee_test-report.bin"),
                            "--vcek", Data("snp/trustee_test-vcek.der"), "--at", kAt2025});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"evidence_type\": \"snp\""));
  EXPECT_THAT(r.output, HasSubstr("\"snp.measurement\""));
  EXPECT_THAT(r.output, HasSubstr("\"snp.product\": \"Milan\""));
}

TEST(VerifyEvidenceTest, SnpDebugGuestIsReported) {
  CommandResult r = Verify({"--type", "snp", "--report", Data("snp/gosev_attestation_milan.bin"),
                            "--vcek", Data("snp/gosev_vcek_milan.der"), "--at", kAt2025});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"snp.debug\": \"true\""));
}

TEST(VerifyEvidenceTest, FlippedSnpReportFailsTheSignatureCheck) {
  CommandResult r = Verify({"--type", "snp", "--report", Flipped("snp/trustee_test-report.bin", 42),
                            "--vcek", Data("snp/trustee_test-vcek.der"), "--at", kAt2025});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'report_signature' failed"));
  r = Verify({"--type", "snp", "--report", Flipped("snp/trustee_test-report.bin", 384), "--vcek",
              Data("snp/trustee_test-vcek.der"), "--at", kAt2025});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'vcek_tcb' failed"));
}

TEST(VerifyEvidenceTest, SnpReportDataMismatchNamesTheCheck) {
  CommandResult r =
      Verify({"--type", "snp", "--report", Data("snp/trustee_test-report.bin"), "--vcek",
              Data("snp/trustee_test-vcek.der"), "--at", kAt2025, "--report-data", "00ff"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'report_data' failed"));
}

TEST(VerifyEvidenceTest, ValidTdxQuoteWithCollateralAt2023) {
  CommandResult r = Verify({"--type", "tdx", "--report", Data("tdx/trustee_tdx_quote_4.dat"),
                            "--collateral", TdxCollateralDir(), "--at", "2023-07-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"tdx.tcb_status\": \"UpToDate\""));
  EXPECT_THAT(r.output, HasSubstr("\"tdx.debug\": \"true\""));
  EXPECT_THAT(r.output, HasSubstr("\"tdx.mrtd\": \"705ee9381b8633a9"));
}

TEST(VerifyEvidenceTest, TdxQuoteWithoutCollateralSaysTheTcbWasNotEvaluated) {
  CommandResult r = Verify({"--type", "tdx", "--report", Data("tdx/trustee_tdx_quote_4.dat"),
                            "--at", "2023-07-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"tdx.tcb_status\": \"NotEvaluated\""));
  EXPECT_THAT(r.output, HasSubstr("warning: the TCB was not evaluated"));
}

TEST(VerifyEvidenceTest, TdxCollateralExpiredIn2053) {
  CommandResult r = Verify({"--type", "tdx", "--report", Data("tdx/trustee_tdx_quote_4.dat"),
                            "--collateral", TdxCollateralDir(), "--at", "2053-07-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("failed"));
}

TEST(VerifyEvidenceTest, FlippedTdxQuoteFailsANamedCheck) {
  // Byte 0x100 lies in the TD report body (MRTD), which the attestation key signs.
  CommandResult r =
      Verify({"--type", "tdx", "--report", Flipped("tdx/trustee_tdx_quote_4.dat", 0x100), "--at",
              "2023-07-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'quote_signature' failed"));
}

TEST(VerifyEvidenceTest, AzureSnpHclAndQuote) {
  CommandResult r = Verify({"--type", "az-snp-vtpm", "--report",
                            Data("az-snp-vtpm/trustee_old2024_hcl-report.bin"), "--vcek",
                            Data("az-snp-vtpm/trustee_old2024_vcek.pem"), "--tpm-quote",
                            Data("az-snp-vtpm/trustee_tpm-quote.msg"), "--tpm-signature",
                            Data("az-snp-vtpm/trustee_tpm-quote.sig"), "--nonce",
                            "6368616c6c656e6765", "--at", kAt2025});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"evidence_type\": \"az-snp-vtpm\""));
  EXPECT_THAT(r.output, HasSubstr("\"azure.vm_id\""));
  EXPECT_THAT(r.output, HasSubstr("\"azure.quote_nonce\": \"6368616c6c656e6765\""));
}

TEST(VerifyEvidenceTest, AzureSnpBincodeQuoteCarriesPcrs) {
  CommandResult r =
      Verify({"--type", "az-snp-vtpm", "--report", Data("az-snp-vtpm/trustee_hcl-report.bin"),
              "--vcek", Data("az-snp-vtpm/trustee_vcek.pem"), "--tpm-quote",
              Data("az-snp-vtpm/trustee_quote.bin"), "--at", kAt2025});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"sha256\": {"));
}

TEST(VerifyEvidenceTest, AzureFailuresNameTheCheck) {
  const std::vector<std::string> base = {"--vcek",
                                         Data("az-snp-vtpm/trustee_old2024_vcek.pem"),
                                         "--tpm-quote",
                                         Data("az-snp-vtpm/trustee_tpm-quote.msg"),
                                         "--tpm-signature",
                                         Data("az-snp-vtpm/trustee_tpm-quote.sig"),
                                         "--at",
                                         kAt2025,
                                         "--type",
                                         "az-snp-vtpm"};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return Verify(args);
  };
  const std::string hcl = Data("az-snp-vtpm/trustee_old2024_hcl-report.bin");
  CommandResult r = run({"--report", hcl, "--nonce", "6368616c6c656e6764"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'quote_nonce' failed"));
  r = run({"--report", hcl, "--report-data", "123abc"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'user_data' failed"));
  r = run({"--report", Flipped("az-snp-vtpm/trustee_old2024_hcl-report.bin", 0x6e0)});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check '"));
}

// The 2025 collateral for the Azure TDX platform (FMSPC 00806f050000): tcbInfo and QE identity.
std::string AzureTdxCollateralDir() {
  const std::string dir = ::testing::TempDir() + "/az_tdx_collateral";
  RunCommand({"/bin/mkdir", "-p", dir});
  for (const char* f : {"teekit_tcbInfo-tdx-00806f050000.json", "trustee_enclaveIdentity.json"}) {
    RunCommand({"/bin/cp", Data(absl::StrCat("tdx/", f)), dir + "/"});
  }
  return dir;
}

CommandResult VerifyAzureTdx(const std::string& hcl, const std::string& td_quote,
                             std::vector<std::string> extra) {
  std::vector<std::string> args = {"--type",
                                   "az-tdx-vtpm",
                                   "--report",
                                   hcl,
                                   "--td-quote",
                                   td_quote,
                                   "--collateral",
                                   AzureTdxCollateralDir(),
                                   "--pinned-tcb-signer",
                                   Data("tdx/derived_intel_sgx_tcb_signing_2018-2025.pem"),
                                   "--at",
                                   "2025-10-28T12:00:00Z"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Verify(args);
}

TEST(VerifyEvidenceTest, AzureTdxHclTdQuoteAndVtpmQuote) {
  CommandResult r = VerifyAzureTdx(
      Data("az-tdx-vtpm/trustee_hcl-report.bin"), Data("tdx/trustee_td-quote.bin"),
      {"--tpm-quote", Data("az-tdx-vtpm/trustee_quote.bin"), "--nonce", "6368616c6c656e6765"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"evidence_type\": \"az-tdx-vtpm\""));
  EXPECT_THAT(r.output, HasSubstr("\"tdx.mrtd\": \"024a32b070383331"));
  EXPECT_THAT(r.output, HasSubstr("\"tdx.tcb_status\": \"OutOfDate\""));
  EXPECT_THAT(r.output, HasSubstr("\"azure.vm_id\": \"6332533D-5649-4D02-8AA7-8F64B7C3EE21\""));
  EXPECT_THAT(r.output, HasSubstr("\"0\": \"782b20b10f55cc46"));
  // The 2024 set: attest + bare signature, no PCR values.
  r = VerifyAzureTdx(Data("az-tdx-vtpm/trustee_old2024_hcl-report.bin"),
                     Data("tdx/trustee_old2024_td-quote.bin"),
                     {"--tpm-quote", Data("az-tdx-vtpm/trustee_old2024_tpm-quote.msg"),
                      "--tpm-signature", Data("az-tdx-vtpm/trustee_old2024_tpm-quote.sig")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"tdx.mrtd\": \"75f3acc2e1dfc3ac"));
}

TEST(VerifyEvidenceTest, AzureTdxFailuresNameTheCheck) {
  const std::string quote = Data("az-tdx-vtpm/trustee_quote.bin");
  CommandResult r = VerifyAzureTdx(Flipped("az-tdx-vtpm/trustee_hcl-report.bin", 0x0880),
                                   Data("tdx/trustee_td-quote.bin"), {"--tpm-quote", quote});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'runtime_data_digest' failed"));
  r = VerifyAzureTdx(Data("az-tdx-vtpm/trustee_hcl-report.bin"),
                     Data("tdx/trustee_old2024_td-quote.bin"), {"--tpm-quote", quote});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'td_quote_binding' failed"));
  r = VerifyAzureTdx(Data("az-tdx-vtpm/trustee_hcl-report.bin"), Data("tdx/trustee_td-quote.bin"),
                     {"--tpm-quote", quote, "--nonce", "00"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'quote_nonce' failed"));
  r = Verify({"--type", "az-tdx-vtpm", "--report", Data("az-tdx-vtpm/trustee_hcl-report.bin"),
              "--tpm-quote", quote});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("needs --td-quote"));
}

// keylime's tpm2-tools quote: the AK as PEM or as tpm2-tools' TPM2B_PUBLIC, the PCR values as
// tpm2-tools' PCR-values file (tests/data/tpm-quote/README.md).
std::vector<std::string> KeylimeArgs(const std::string& ak, const std::string& pcrs,
                                     const std::string& signature) {
  std::vector<std::string> args = {"--type", "tpm", "--tpm-signature", signature};
  args.insert(args.end(), {"--tpm-quote", Data("tpm-quote/keylime_quote.out")});
  args.insert(args.end(), {"--ak", ak, "--pcrs", pcrs});
  return args;
}

TEST(VerifyEvidenceTest, KeylimeTpm2ToolsQuoteWithPemOrTpm2bPublicAk) {
  const std::string pcrs = Data("tpm-quote/keylime_quotepcr.out");
  const std::string sig = Data("tpm-quote/keylime_quotesig.out");
  const std::string json = ::testing::TempDir() + "/keylime_evidence.json";
  for (const char* ak : {"tpm-quote/keylime_akpub.pem", "tpm-quote/keylime_ak.pub"}) {
    std::vector<std::string> args = KeylimeArgs(Data(ak), pcrs, sig);
    args.insert(args.end(), {"--nonce", "db1db298db6d60e6385b7231743e9c3056a18003"});
    CommandResult r = Verify(args);
    EXPECT_EQ(r.exit_code, 0) << ak << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("\"tpm.nonce\": \"db1db298db6d60e6385b7231743e9c3056a18003\""));
    EXPECT_THAT(r.output, HasSubstr("\"16\": \"9dbb22387e019c04da95477333546082ce313152c4a7f8a6"));
  }
  // The TPM2B_PUBLIC goes into kb.v1.Evidence as its TPMT_PUBLIC.
  std::vector<std::string> args = KeylimeArgs(Data("tpm-quote/keylime_ak.pub"), pcrs, sig);
  args.insert(args.end(), {"--json-evidence-out", json});
  EXPECT_EQ(Verify(args).exit_code, 0);
  auto written = ReadFile(json);
  ASSERT_THAT(written, IsOk());
  EXPECT_THAT(*written, HasSubstr("\"akPublic\": \"AAEACwAFAHIAAAAQABQACwgAAAAAAAEAq4iI1"));
}

TEST(VerifyEvidenceTest, KeylimeQuoteNegativesNameTheCheck) {
  const std::string ak = Data("tpm-quote/keylime_ak.pub");
  const std::string pcrs = Data("tpm-quote/keylime_quotepcr.out");
  const std::string sig = Data("tpm-quote/keylime_quotesig.out");
  CommandResult r = Verify(KeylimeArgs(ak, pcrs, Flipped("tpm-quote/keylime_quotesig.out", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'quote_signature' failed"));
  std::vector<std::string> args = KeylimeArgs(ak, pcrs, sig);
  args.insert(args.end(), {"--nonce", "db1db298"});
  r = Verify(args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'quote_nonce' failed"));
  // 0xd0: the first byte of PCR 16's value.
  r = Verify(KeylimeArgs(ak, Flipped("tpm-quote/keylime_quotepcr.out", 0xd0), sig));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("evidence check 'pcr_digest' failed"));
}

TEST(VerifyEvidenceTest, UsageAndIoErrorsExit2) {
  CommandResult r = Verify({"--type", "snp"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("needs --report"));
  r = Verify({"--type", "nonsense"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Verify({"--type", "snp", "--report", "/nonexistent/report.bin", "--vcek", "/nonexistent"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Verify({"--type", "snp", "--report", Data("snp/trustee_test-report.bin"), "--vcek",
              Data("snp/trustee_test-vcek.der"), "--at", "yesterday"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // No connection flags or environment are needed for this command.
  r = Verify({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace kb
