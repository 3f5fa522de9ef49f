#include "keybroker/policy/release_policy.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const std::string kPcr7(64, 'a');

Claims TpmClaims(const std::string& machine, const std::string& pcr7) {
  Claims c;
  c.evidence_type = "tpm";
  c.machine = machine;
  c.pcrs["sha256"][7] = pcr7;
  return c;
}

std::string ErrorOf(absl::string_view json) {
  auto p = ParseReleasePolicy(json);
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(p.status().message());
}

TEST(ReleasePolicyTest, ParsesAndNormalises) {
  auto p = ParseReleasePolicy(R"({"allow":[{"name":"prod","evidence_types":["tpm"],
      "machines":["web-1"],"pcrs":[{"index":7,"allowed":[")" +
                              std::string(64, 'A') + R"("]}]}]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->allow(0).pcrs(0).bank(), "sha256");
  EXPECT_EQ(p->allow(0).pcrs(0).allowed(0), kPcr7);
  auto again = ParseReleasePolicy(PolicyToJson(*p));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->SerializeAsString(), p->SerializeAsString());
}

TEST(ReleasePolicyTest, RejectsBadPolicies) {
  EXPECT_THAT(ErrorOf("{"), HasSubstr("not valid"));
  EXPECT_THAT(ErrorOf("{}"), HasSubstr("no rules"));
  EXPECT_THAT(ErrorOf(R"({"allow":[]})"), HasSubstr("no rules"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"machinez":["a"]}]})"), HasSubstr("machinez"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"machines":{"a":1}}]})"), HasSubstr("not valid"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"pcrs":[{"index":"seven","allowed":["00"]}]}]})"),
              HasSubstr("not valid"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{}]})"), HasSubstr("allow every verified guest"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"evidence_types":["tpm"]}]})"),
              HasSubstr("allow every verified guest"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"evidence_types":["sgx"],"machines":["a"]}]})"),
              HasSubstr("unknown evidence type 'sgx'"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"pcrs":[{"index":7,"allowed":["abcd"]}]}]})"),
              HasSubstr("not a sha256 digest"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"pcrs":[{"index":24,"allowed":[")" + kPcr7 + R"("]}]}]})"),
              HasSubstr("index > 23"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"pcrs":[{"bank":"md5","index":1,"allowed":["00"]}]}]})"),
              HasSubstr("unknown bank"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"pcrs":[{"index":7,"allowed":[]}]}]})"),
              HasSubstr("'allowed' is empty"));
  EXPECT_THAT(ErrorOf(R"({"allow":[{"pcrs":[{"index":7,"allowed":[")" + kPcr7 +
                      R"("]},{"index":7,"allowed":[")" + kPcr7 + R"("]}]}]})"),
              HasSubstr("listed twice"));
}

// Issue 9: PCR values that no measurement produced identify no machine.
TEST(ReleasePolicyTest, RejectsRulesPinningOnlyUnmeasuredPcrValues) {
  const std::string zeros(64, '0'), ones(64, 'f'), ones_upper(64, 'F');
  auto pcr = [](int index, const std::string& values) {
    return absl::StrCat(R"({"index":)", index, R"(,"allowed":[)", values, "]}");
  };
  auto q = [](const std::string& v) { return absl::StrCat("\"", v, "\""); };
  EXPECT_THAT(ErrorOf(absl::StrCat(R"({"allow":[{"pcrs":[)", pcr(8, q(zeros)), "]}]}")),
              HasSubstr("pins only PCRs (sha256:8) that it allows to be all zeros or all ones"));
  EXPECT_THAT(ErrorOf(absl::StrCat(R"({"allow":[{"pcrs":[)", pcr(8, q(zeros)), ",",
                                   pcr(9, q(ones_upper)), "]}]}")),
              HasSubstr("sha256:8, sha256:9"));
  // A measured value beside a zero one in the same PCR still lets an unmeasured PCR through.
  EXPECT_THAT(
      ErrorOf(absl::StrCat(R"({"allow":[{"pcrs":[)", pcr(8, q(kPcr7) + "," + q(zeros)), "]}]}")),
      HasSubstr("allow every verified guest"));
  EXPECT_THAT(ErrorOf(absl::StrCat(R"({"allow":[{"evidence_types":["tpm"],"pcrs":[)",
                                   pcr(8, q(ones)), "]}]}")),
              HasSubstr("allow every verified guest"));
  // Next to a constraint that carries identity, or a measured PCR, such values stay allowed.
  EXPECT_TRUE(ParseReleasePolicy(
                  absl::StrCat(R"({"allow":[{"machines":["a"],"pcrs":[)", pcr(8, q(zeros)), "]}]}"))
                  .ok());
  EXPECT_TRUE(ParseReleasePolicy(absl::StrCat(R"({"allow":[{"pcrs":[)", pcr(8, q(zeros)), ",",
                                              pcr(7, q(kPcr7)), "]}]}"))
                  .ok());
  EXPECT_TRUE(ParseReleasePolicy(absl::StrCat(R"({"allow":[{"snp":{"measurements":[")",
                                              std::string(96, 'a'), R"("]},"pcrs":[)",
                                              pcr(8, q(zeros)), "]}]}"))
                  .ok());
}

TEST(ReleasePolicyTest, EvaluatesRules) {
  auto p = ParseReleasePolicy(R"({"allow":[
      {"name":"web","machines":["web-1","web-2"],"pcrs":[{"index":7,"allowed":[")" +
                              kPcr7 +
                              R"("]}]},
      {"name":"db","machines":["db-1"]}]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(EvaluatePolicy(*p, TpmClaims("web-2", kPcr7))->rule, "'web'");
  EXPECT_EQ(EvaluatePolicy(*p, TpmClaims("db-1", std::string(64, 'b')))->rule, "'db'");
  EXPECT_EQ(EvaluatePolicy(*p, TpmClaims("db-1", kPcr7))->offline_boots, 0u);

  auto denied = EvaluatePolicy(*p, TpmClaims("web-1", std::string(64, 'b')));
  ASSERT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.status().message()),
              HasSubstr("rule 'web': pcr sha256:7 value bbbbbbbbbbbbbbbb... not allowed"));
  EXPECT_THAT(std::string(denied.status().message()),
              HasSubstr("rule 'db': machine 'web-1' not allowed"));

  Claims no_pcr = TpmClaims("web-1", kPcr7);
  no_pcr.pcrs.clear();
  EXPECT_THAT(std::string(EvaluatePolicy(*p, no_pcr).status().message()),
              HasSubstr("pcr sha256:7 was not quoted"));
}

TEST(ReleasePolicyTest, OfflineBootsComeFromTheMatchingRule) {
  auto p = ParseReleasePolicy(R"({"allow":[{"machines":["a"],"offline_boots":3},
                                           {"machines":["b"]}]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(EvaluatePolicy(*p, TpmClaims("a", kPcr7))->offline_boots, 3u);
  EXPECT_EQ(EvaluatePolicy(*p, TpmClaims("b", kPcr7))->offline_boots, 0u);
  EXPECT_THAT(ErrorOf(R"({"allow":[{"machines":["a"],"offline_boots":5000}]})"),
              HasSubstr("at most 1000"));
}

TEST(ReleasePolicyTest, EvidenceTypeClause) {
  auto p = ParseReleasePolicy(R"({"allow":[{"evidence_types":["tpm"],"machines":["a"]}]})");
  ASSERT_THAT(p, IsOk());
  Claims c = TpmClaims("a", kPcr7);
  EXPECT_THAT(EvaluatePolicy(*p, c), IsOk());
  c.evidence_type = "snp";
  EXPECT_THAT(std::string(EvaluatePolicy(*p, c).status().message()),
              HasSubstr("evidence type 'snp' not allowed"));
}

}  // namespace
}  // namespace kb
