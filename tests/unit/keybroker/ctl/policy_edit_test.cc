// Editing release policies by reference value (keybroker/ctl/policy_edit.h): every edited
// policy is also run through the broker's own validation (ParseReleasePolicy).
#include "keybroker/ctl/policy_edit.h"

#include <google/protobuf/util/json_util.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ctl/policy_show.h"
#include "keybroker/policy/release_policy.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = PolicyClaim::Kind;

const std::string kMeasurement(96, 'a');
const std::string kPcr(64, 'b');

v1::ReleasePolicy Parse(const std::string& json) {
  auto policy = ParseReleasePolicy(json);
  EXPECT_THAT(policy, IsOk());
  return policy.ok() ? *policy : v1::ReleasePolicy();
}

// What the broker would store: the edited policy through SetPolicy's validation.
absl::StatusOr<v1::ReleasePolicy> Revalidate(const v1::ReleasePolicy& policy) {
  std::string json;
  EXPECT_THAT(google::protobuf::util::MessageToJsonString(policy, &json), IsOk());
  return ParseReleasePolicy(json);
}

PolicyClaim Claim(const std::string& name) {
  auto claim = ParsePolicyClaim(name);
  EXPECT_THAT(claim, IsOk());
  return claim.ok() ? *claim : PolicyClaim();
}

std::string ClaimError(const std::string& name) {
  auto claim = ParsePolicyClaim(name);
  EXPECT_FALSE(claim.ok()) << name;
  EXPECT_EQ(claim.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(claim.status().message());
}

std::string ValueError(const std::string& claim, const std::string& value) {
  auto v = NormalizeClaimValue(Claim(claim), value);
  EXPECT_FALSE(v.ok()) << claim << " " << value;
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(v.status().message());
}

TEST(PolicyEditTest, ParsesClaimNames) {
  EXPECT_EQ(Claim("snp.measurement").kind, Kind::kSnpMeasurement);
  EXPECT_EQ(Claim("machine").name, "machines");
  EXPECT_EQ(Claim("evidence_type").kind, Kind::kEvidenceTypes);
  const PolicyClaim rtmr = Claim("tdx.rtmr2");
  EXPECT_EQ(rtmr.kind, Kind::kTdxRtmr);
  EXPECT_EQ(rtmr.index, 2u);
  const PolicyClaim pcr = Claim("pcr.sha384:23");
  EXPECT_EQ(pcr.kind, Kind::kPcr);
  EXPECT_EQ(pcr.bank, "sha384");
  EXPECT_EQ(pcr.name, "pcr:sha384:23");
  EXPECT_THAT(ClaimError("snp.measurment"), HasSubstr("unknown claim 'snp.measurment' (known:"));
  EXPECT_THAT(ClaimError("tdx.rtmr4"), HasSubstr("unknown claim"));
  EXPECT_THAT(ClaimError("pcr:sha256:24"), HasSubstr("INDEX 0..23"));
  EXPECT_THAT(ClaimError("pcr:md5:1"), HasSubstr("is not a PCR"));
}

TEST(PolicyEditTest, ChecksValueHexAndSize) {
  EXPECT_EQ(*NormalizeClaimValue(Claim("snp.measurement"), std::string(96, 'A')), kMeasurement);
  EXPECT_THAT(ValueError("snp.measurement", std::string(95, 'a') + "g"), HasSubstr("is not hex"));
  EXPECT_THAT(ValueError("snp.measurement", std::string(64, 'a')),
              HasSubstr("snp.measurement must be 48 bytes (96 hex digits), got 64"));
  EXPECT_THAT(ValueError("tdx.mrtd", "abcd"), HasSubstr("tdx.mrtd must be 48 bytes"));
  EXPECT_THAT(ValueError("tdx.rtmr1", kPcr), HasSubstr("tdx.rtmr1 must be 48 bytes"));
  EXPECT_THAT(ValueError("pcr:sha256:7", kMeasurement), HasSubstr("must be 32 bytes"));
  EXPECT_THAT(ValueError("snp.host_data", kMeasurement), HasSubstr("must be 32 bytes"));
  EXPECT_THAT(NormalizeClaimValue(Claim("pcr:sha1:7"), std::string(40, '0')), IsOk());
  EXPECT_THAT(ValueError("evidence_types", "sgx"), HasSubstr("not an evidence type"));
  EXPECT_THAT(ValueError("tdx.tcb_status", "Revoked"), HasSubstr("not a TCB status"));
  EXPECT_THAT(ValueError("snp.reported_tcb", "1"), HasSubstr("set-min-tcb"));
}

TEST(PolicyEditTest, ResolvesRules) {
  v1::ReleasePolicy empty;
  EXPECT_THAT(std::string(ResolveRule(empty, std::nullopt).status().message()),
              HasSubstr("no rules"));
  v1::ReleasePolicy one = Parse(R"({"allow":[{"machines":["a"]}]})");
  EXPECT_EQ(*ResolveRule(one, std::nullopt), 0);
  EXPECT_THAT(std::string(ResolveRule(one, 1).status().message()),
              HasSubstr("--rule 1 is out of range: the policy has 1 rule (0)"));
  v1::ReleasePolicy two = Parse(R"({"allow":[{"machines":["a"]},{"name":"b","machines":["b"]}]})");
  EXPECT_THAT(std::string(ResolveRule(two, std::nullopt).status().message()),
              HasSubstr("2 rules: choose one with --rule 0..1"));
  EXPECT_EQ(*ResolveRule(two, 1), 1);
  EXPECT_EQ(DescribeRule(two, 1), "#1 'b'");
  EXPECT_EQ(DescribeRule(two, 0), "#0");
}

TEST(PolicyEditTest, AddsAndRemovesSetValues) {
  v1::ReleasePolicy p = Parse(R"({"allow":[{"machines":["web-1"]}]})");
  EXPECT_TRUE(AddClaimValue(p, 0, Claim("snp.measurement"), kMeasurement));
  EXPECT_FALSE(AddClaimValue(p, 0, Claim("snp.measurement"), kMeasurement));
  EXPECT_TRUE(AddClaimValue(p, 0, Claim("tdx.rtmr1"), kMeasurement));
  EXPECT_TRUE(AddClaimValue(p, 0, Claim("tdx.tcb_status"), "SWHardeningNeeded"));
  EXPECT_TRUE(AddClaimValue(p, 0, Claim("pcr:sha256:7"), kPcr));
  EXPECT_TRUE(AddClaimValue(p, 0, Claim("machines"), "web-2"));
  ASSERT_THAT(Revalidate(p), IsOk());
  EXPECT_THAT(p.allow(0).snp().measurements(), ElementsAre(kMeasurement));
  EXPECT_THAT(p.allow(0).tdx().rtmr().at(1).allowed(), ElementsAre(kMeasurement));
  EXPECT_THAT(p.allow(0).machines(), ElementsAre("web-1", "web-2"));
  EXPECT_EQ(p.allow(0).pcrs(0).bank(), "sha256");

  ASSERT_THAT(RemoveClaimValue(p, 0, Claim("pcr:sha256:7"), kPcr), IsOk());
  EXPECT_EQ(p.allow(0).pcrs_size(), 0);  // no empty 'allowed' left behind
  ASSERT_THAT(RemoveClaimValue(p, 0, Claim("tdx.rtmr1"), kMeasurement), IsOk());
  EXPECT_TRUE(p.allow(0).tdx().rtmr().empty());
  auto missing = RemoveClaimValue(p, 0, Claim("snp.measurement"), std::string(96, 'c'));
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("rule #0: snp.measurement does not list"));
  EXPECT_EQ(RemoveClaimValue(p, 0, Claim("tdx.rtmr3"), kMeasurement).code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Revalidate(p), IsOk());
}

TEST(PolicyEditTest, SetsAndUnsetsPcrs) {
  v1::ReleasePolicy p = Parse(absl::StrCat(R"({"allow":[{"machines":["a"],"pcrs":[{"index":7,
      "allowed":[")",
                                           kPcr, R"("]}]}]})"));
  const std::string other(64, 'c');
  SetPcr(p, 0, "sha256", 7, {other});
  EXPECT_THAT(p.allow(0).pcrs(0).allowed(), ElementsAre(other));
  SetPcr(p, 0, "sha1", 0, {std::string(40, 'd')});
  ASSERT_EQ(p.allow(0).pcrs_size(), 2);
  EXPECT_THAT(Revalidate(p), IsOk());
  ASSERT_THAT(UnsetPcr(p, 0, "sha256", 7), IsOk());
  ASSERT_EQ(p.allow(0).pcrs_size(), 1);
  EXPECT_EQ(p.allow(0).pcrs(0).bank(), "sha1");
  auto absent = UnsetPcr(p, 0, "sha256", 7);
  EXPECT_THAT(std::string(absent.message()), HasSubstr("no requirement on PCR sha256:7"));
}

TEST(PolicyEditTest, SetsMinimumTcb) {
  auto tcb = ParseTcbComponents("bootloader=3,snp=8");
  ASSERT_THAT(tcb, IsOk());
  v1::ReleasePolicy p = Parse(R"({"allow":[{"machines":["a"],
      "snp":{"min_reported_tcb":{"microcode":115}}}]})");
  EXPECT_TRUE(SetMinTcb(p, 0, *tcb));
  EXPECT_FALSE(SetMinTcb(p, 0, *tcb));
  const v1::SnpTcb& min = p.allow(0).snp().min_reported_tcb();
  EXPECT_EQ(min.bootloader(), 3u);
  EXPECT_EQ(min.snp(), 8u);
  EXPECT_EQ(min.microcode(), 115u);  // kept
  EXPECT_THAT(std::string(ParseTcbComponents("fmc=1").status().message()),
              HasSubstr("unknown component 'fmc'"));
  EXPECT_THAT(std::string(ParseTcbComponents("tee=x").status().message()),
              HasSubstr("tee must be a number"));
  EXPECT_THAT(std::string(ParseTcbComponents("tee=1,tee=2").status().message()),
              HasSubstr("tee given twice"));
}

TEST(PolicyEditTest, AddsAndRemovesRules) {
  v1::ReleasePolicy p;
  auto index = AddRule(p, "snp-web", {"snp", "az-snp-vtpm", "snp"});
  ASSERT_THAT(index, IsOk());
  EXPECT_THAT(p.allow(0).evidence_types(), ElementsAre("snp", "az-snp-vtpm"));
  // The broker refuses a rule that constrains nothing; a value makes it valid.
  EXPECT_THAT(std::string(Revalidate(p).status().message()), HasSubstr("constrains neither"));
  AddClaimValue(p, *index, Claim("snp.measurement"), kMeasurement);
  EXPECT_THAT(Revalidate(p), IsOk());
  EXPECT_THAT(std::string(AddRule(p, "snp-web", {}).status().message()),
              HasSubstr("rule #0 'snp-web' already has the name"));
  EXPECT_FALSE(AddRule(p, "x", {"sgx"}).ok());
  ASSERT_EQ(*AddRule(p, "", {}), 1);
  RemoveRule(p, 0);
  ASSERT_EQ(p.allow_size(), 1);
  EXPECT_EQ(p.allow(0).name(), "");
}

TEST(PolicyShowTest, OneRowPerValue) {
  v1::ReleasePolicy p = Parse(absl::StrCat(
      R"({"allow":[{"name":"r1","machines":["web-1"],"pcrs":[{"index":7,"allowed":[")", kPcr,
      R"("]}],"offline_boots":3},{"evidence_types":["tdx"],"tdx":{"mrtd":[")", kMeasurement,
      R"("]}},{"machines":["x"],"snp":{"min_reported_tcb":{"snp":8},"vmpl_max":0}}]})"));
  const std::string table = FormatPolicyTable("disk", 4, p);
  EXPECT_THAT(table, HasSubstr("key disk: policy version 4, 3 rules"));
  EXPECT_THAT(table, HasSubstr("RULE  NAME  CLAIM"));
  EXPECT_THAT(table, HasSubstr("0     r1    pcr:sha256:7          " + kPcr));
  EXPECT_THAT(table, HasSubstr("0     r1    offline_boots         3"));
  EXPECT_THAT(table, HasSubstr("1     -     tdx.mrtd              " + kMeasurement));
  EXPECT_THAT(table, HasSubstr("tdx.tcb_status        UpToDate (default)"));
  EXPECT_THAT(table, HasSubstr("0     r1    evidence_types        (any)"));
  EXPECT_THAT(table, HasSubstr("snp.min_reported_tcb  bootloader>=0 tee>=0 snp>=8 microcode>=0"));
  EXPECT_THAT(table, HasSubstr("snp.vmpl_max          0"));
}

}  // namespace
}  // namespace kb
