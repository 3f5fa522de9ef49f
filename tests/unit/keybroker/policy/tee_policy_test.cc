// Release-policy TEE clauses (snp, tdx) and their defaults, including the MANIFEST's debug
// cases on real evidence.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/policy/release_policy.h"
#include "keybroker/verifiers/snp/snp_claims.h"
#include "keybroker/verifiers/tdx/tdx_claims.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::kb::snp_test::At;
using ::kb::snp_test::ReadData;
using ::testing::HasSubstr;

Claims SnpClaimsOf(const std::string& report, const std::string& vcek) {
  SnpVerifyInput in;
  in.report = ReadData(report);
  in.vcek = ReadData(vcek);
  in.verify_time = At("2025-06-01T00:00:00Z");
  auto snp = VerifySnpReport(in);
  EXPECT_THAT(snp, IsOk());
  return snp.ok() ? ClaimsFromSnp(*snp) : Claims();
}

Claims TdxQuote4Claims() {
  std::string quote = ReadData("tdx/trustee_tdx_quote_4.dat");
  tdx::TdxVerifyInput in;
  in.quote = quote;
  in.now = At("2026-02-03T00:00:00Z");
  in.options = {false, false, false};
  auto claims = tdx::VerifyTdxQuote(in);
  EXPECT_THAT(claims, IsOk());
  Claims c = claims.ok() ? ClaimsFromTdx(*claims) : Claims();
  c.attributes["tdx.tcb_status"] = "UpToDate";  // as with the MANIFEST's 2023 collateral
  return c;
}

absl::Status Evaluate(const std::string& json, const Claims& claims) {
  auto policy = ParseReleasePolicy(json);
  if (!policy.ok()) return policy.status();
  return EvaluatePolicy(*policy, claims).status();
}

std::string SnpPolicy(const Claims& c, const std::string& extra = "") {
  return absl::StrCat(
      R"({"allow":[{"name":"snp","evidence_types":["snp"],"snp":{"measurements":[")",
      c.attributes.at("snp.measurement"), "\"]", extra, "}}]}");
}

std::string TdxPolicy(const Claims& c, const std::string& extra = "") {
  return absl::StrCat(R"({"allow":[{"name":"td","evidence_types":["tdx"],"tdx":{"mrtd":[")",
                      c.attributes.at("tdx.mrtd"), "\"]", extra, "}}]}");
}

TEST(TeePolicyTest, SnpMeasurementAllowsANonDebugGuest) {
  Claims c = SnpClaimsOf("snp/trustee_test-report.bin", "snp/trustee_test-vcek.der");
  ASSERT_EQ(c.attributes.at("snp.debug"), "false");
  EXPECT_THAT(Evaluate(SnpPolicy(c), c), IsOk());
  Claims other = c;
  other.attributes["snp.measurement"] = std::string(96, 'a');
  auto s = Evaluate(SnpPolicy(c), other);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("snp measurement"));
}

// MANIFEST: gosev_attestation_milan has POLICY.DEBUG=1 -> must fail a no-debug-guest policy.
TEST(TeePolicyTest, GoSevDebugGuestFailsANoDebugPolicy) {
  Claims c = SnpClaimsOf("snp/gosev_attestation_milan.bin", "snp/gosev_vcek_milan.der");
  ASSERT_EQ(c.attributes.at("snp.debug"), "true");
  auto s = Evaluate(SnpPolicy(c), c);  // allow_debug defaults to false
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("debug guest"));
  s = Evaluate(SnpPolicy(c, R"(,"allow_debug":false)"), c);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(Evaluate(SnpPolicy(c, R"(,"allow_debug":true)"), c), IsOk());
  // A rule without an snp clause denies a debug guest too.
  const std::string chip_rule = absl::StrCat(R"({"allow":[{"machines":[")", c.machine, R"("]}]})");
  EXPECT_EQ(Evaluate(chip_rule, c).code(), absl::StatusCode::kPermissionDenied);
}

// MANIFEST: trustee_tdx_quote_4 has TD DEBUG set -> must fail a no-debug-TD policy.
TEST(TeePolicyTest, TrusteeDebugTdFailsANoDebugPolicy) {
  Claims c = TdxQuote4Claims();
  ASSERT_EQ(c.attributes.at("tdx.debug"), "true");
  auto s = Evaluate(TdxPolicy(c), c);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("debug TD"));
  EXPECT_THAT(Evaluate(TdxPolicy(c, R"(,"allow_debug":true)"), c), IsOk());
}

TEST(TeePolicyTest, TdxTcbStatusDefaultsToUpToDate) {
  Claims c = TdxQuote4Claims();
  c.attributes["tdx.tcb_status"] = "OutOfDate";
  auto s = Evaluate(TdxPolicy(c, R"(,"allow_debug":true)"), c);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tcb_status 'OutOfDate'"));
  EXPECT_TRUE(Evaluate(TdxPolicy(c, R"(,"allow_debug":true,)"
                                    R"("allowed_tcb_status":["UpToDate","OutOfDate"])"),
                       c)
                  .ok());
}

TEST(TeePolicyTest, TdxRtmrClause) {
  Claims c = TdxQuote4Claims();
  const std::string rtmr = absl::StrCat(R"(,"allow_debug":true,"rtmr":{"0":{"allowed":[")",
                                        c.attributes.at("tdx.rtmr0"), R"("]}})");
  EXPECT_THAT(Evaluate(TdxPolicy(c, rtmr), c), IsOk());
  Claims other = c;
  other.attributes["tdx.rtmr0"] = std::string(96, '0');
  EXPECT_EQ(Evaluate(TdxPolicy(c, rtmr), other).code(), absl::StatusCode::kPermissionDenied);
}

TEST(TeePolicyTest, SnpMinimumTcbVmplAndHostData) {
  Claims c = SnpClaimsOf("snp/trustee_test-report.bin", "snp/trustee_test-vcek.der");
  const std::string ucode = c.attributes.at("snp.reported_tcb.microcode");
  EXPECT_TRUE(
      Evaluate(SnpPolicy(c, absl::StrCat(R"(,"min_reported_tcb":{"microcode":)", ucode, "}")), c)
          .ok());
  auto s = Evaluate(
      SnpPolicy(c, absl::StrCat(R"(,"min_reported_tcb":{"microcode":)", std::stoi(ucode) + 1, "}")),
      c);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("reported_tcb.microcode"));
  Claims vmpl2 = c;
  vmpl2.attributes["snp.vmpl"] = "2";
  EXPECT_EQ(Evaluate(SnpPolicy(c, R"(,"vmpl_max":0)"), vmpl2).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      Evaluate(SnpPolicy(c, absl::StrCat(R"(,"host_data":[")", std::string(64, 'f'), "\"]")), c)
          .code(),
      absl::StatusCode::kPermissionDenied);
  // An snp clause never matches TDX claims.
  EXPECT_EQ(Evaluate(absl::StrReplaceAll(SnpPolicy(c), {{"\"evidence_types\":[\"snp\"],", ""}}),
                     TdxQuote4Claims())
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(TeePolicyTest, SetPolicyValidationRejectsBadTeeClauses) {
  const std::string m(96, 'a');
  const char* kBad[] = {
      R"({"allow":[{"snp":{"measurements":["zz"]}}]})",
      R"({"allow":[{"snp":{"measurements":["abcd"]}}]})",
      R"({"allow":[{"snp":{"measurement":["MEAS"]}}]})",  // unknown field
      R"({"allow":[{"snp":{"measurements":"MEAS"}}]})",   // wrong type
      R"({"allow":[{"snp":{"measurements":["MEAS"],"allow_debug":"no"}}]})",
      R"({"allow":[{"snp":{"measurements":["MEAS"],"vmpl_max":4}}]})",
      R"({"allow":[{"snp":{"allow_debug":true}}]})",  // constrains nothing
      R"({"allow":[{"tdx":{"mrtd":["MEAS"],"allowed_tcb_status":["Fine"]}}]})",
      R"({"allow":[{"tdx":{"rtmr":{"4":{"allowed":["MEAS"]}}}}]})",
      R"({"allow":[{"tdx":{"rtmr":{"0":{"allowed":[]}}}}]})",
      R"({"allow":[{"evidence_types":["sgx"],"tdx":{"mrtd":["MEAS"]}}]})",
  };
  for (const char* bad : kBad) {
    const std::string json = absl::StrReplaceAll(bad, {{"MEAS", m}});
    EXPECT_EQ(ParseReleasePolicy(json).status().code(), absl::StatusCode::kInvalidArgument) << json;
  }
  auto ok = ParseReleasePolicy(absl::StrReplaceAll(
      R"({"allow":[{"evidence_types":["snp","az-snp-vtpm"],"snp":{"measurements":["MEAS"],)"
      R"("min_reported_tcb":{"bootloader":3,"tee":0,"snp":8,"microcode":115},"vmpl_max":0}},)"
      R"({"evidence_types":["tdx"],"tdx":{"mrtd":["MEAS"],"rtmr":{"1":{"allowed":["MEAS"]}},)"
      R"("allowed_tcb_status":["UpToDate","SWHardeningNeeded"]}}]})",
      {{"MEAS", absl::AsciiStrToUpper(m)}}));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->allow(0).snp().measurements(0), m);  // normalised to lowercase
}

}  // namespace
}  // namespace kb
