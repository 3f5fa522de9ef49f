// Reference values from verified claims (keybroker/ctl/policy_capture.h).
#include "keybroker/ctl/policy_capture.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/policy/release_policy.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const std::string kSnpMeasurement(96, 'a');

VerifiedClaims SnpClaims() {
  VerifiedClaims v{"vm.json", "snp", "snp-chip:00ff", {}};
  v.claims = {{"snp.measurement", kSnpMeasurement}, {"snp.host_data", std::string(64, 'c')},
              {"snp.reported_tcb.bootloader", "3"}, {"snp.reported_tcb.tee", "0"},
              {"snp.reported_tcb.snp", "8"},        {"snp.reported_tcb.microcode", "115"}};
  return v;
}

VerifiedClaims TpmClaims() {
  VerifiedClaims v{"web-1.evidence", "tpm", "web-1", {}};
  for (int i = 0; i < 8; ++i) {
    v.claims[absl::StrCat("pcr.sha256:", i)] = std::string(64, static_cast<char>('0' + i));
  }
  return v;
}

TEST(PolicyCaptureTest, ParsesClaimListWithPcrRanges) {
  auto list = ParseCaptureList("snp.measurement, pcr:sha256:0-3,pcr:sha256:7,machine");
  ASSERT_THAT(list, IsOk());
  ASSERT_THAT(*list, SizeIs(7));
  EXPECT_EQ((*list)[1].name, "pcr:sha256:0");
  EXPECT_EQ((*list)[4].name, "pcr:sha256:3");
  EXPECT_EQ((*list)[5].name, "pcr:sha256:7");
  EXPECT_EQ((*list)[6].name, "machines");
  EXPECT_THAT(std::string(ParseCaptureList("pcr:sha256:7-3").status().message()),
              HasSubstr("not a PCR range"));
  EXPECT_THAT(std::string(ParseCaptureList("pcr:sha256:20-24").status().message()),
              HasSubstr("INDEX 0..23"));
  EXPECT_THAT(std::string(ParseCaptureList("snp.measurment").status().message()),
              HasSubstr("unknown claim"));
  EXPECT_FALSE(ParseCaptureList(",").ok());
}

TEST(PolicyCaptureTest, AddsVerifiedSnpValuesAndMinimumTcb) {
  v1::ReleasePolicy policy;
  policy.add_allow()->add_evidence_types("snp");
  auto claims = ParseCaptureList("snp.measurement,snp.host_data,snp.reported_tcb,machine");
  ASSERT_THAT(claims, IsOk());
  auto changes = ApplyVerifiedClaims(policy, 0, *claims, SnpClaims());
  ASSERT_THAT(changes, IsOk());
  EXPECT_THAT(*changes, SizeIs(4));
  EXPECT_THAT((*changes)[0],
              HasSubstr("added snp.measurement " + kSnpMeasurement + " (from vm.json)"));
  EXPECT_THAT((*changes)[2], HasSubstr("bootloader=3,tee=0,snp=8,microcode=115"));
  const v1::PolicyRule& rule = policy.allow(0);
  EXPECT_THAT(rule.snp().measurements(), ElementsAre(kSnpMeasurement));
  EXPECT_THAT(rule.machines(), ElementsAre("snp-chip:00ff"));
  EXPECT_EQ(rule.snp().min_reported_tcb().microcode(), 115u);
  // The same evidence again changes nothing.
  EXPECT_THAT(*ApplyVerifiedClaims(policy, 0, *claims, SnpClaims()), SizeIs(0));
  EXPECT_THAT(ParseReleasePolicy(PolicyToJson(policy)), IsOk());
}

TEST(PolicyCaptureTest, AddsPcrValuesOfSeveralMachines) {
  v1::ReleasePolicy policy;
  policy.add_allow();
  auto claims = ParseCaptureList("pcr:sha256:0-7,evidence_type");
  ASSERT_THAT(claims, IsOk());
  ASSERT_THAT(ApplyVerifiedClaims(policy, 0, *claims, TpmClaims()), IsOk());
  VerifiedClaims second = TpmClaims();
  second.claims["pcr.sha256:7"] = std::string(64, 'f');
  auto changes = ApplyVerifiedClaims(policy, 0, *claims, second);
  ASSERT_THAT(changes, IsOk());
  EXPECT_THAT(*changes,
              ElementsAre("added pcr:sha256:7 " + std::string(64, 'f') + " (from web-1.evidence)"));
  ASSERT_EQ(policy.allow(0).pcrs_size(), 8);
  EXPECT_THAT(policy.allow(0).pcrs(7).allowed(),
              ElementsAre(std::string(64, '7'), std::string(64, 'f')));
  EXPECT_THAT(policy.allow(0).evidence_types(), ElementsAre("tpm"));
  EXPECT_THAT(ParseReleasePolicy(PolicyToJson(policy)), IsOk());
}

TEST(PolicyCaptureTest, RefusesClaimsTheEvidenceLacks) {
  v1::ReleasePolicy policy;
  policy.add_allow();
  auto missing = ApplyVerifiedClaims(policy, 0, *ParseCaptureList("snp.measurement"), TpmClaims());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("evidence web-1.evidence (tpm) has no verified claim 'snp.measurement'; "
                        "its claims: pcr.sha256:0"));
  auto pcr = ApplyVerifiedClaims(policy, 0, *ParseCaptureList("pcr:sha256:8"), TpmClaims());
  EXPECT_THAT(std::string(pcr.status().message()), HasSubstr("'pcr.sha256:8'"));
  VerifiedClaims bad = TpmClaims();
  bad.claims["pcr.sha256:1"] = "abcd";
  auto size = ApplyVerifiedClaims(policy, 0, *ParseCaptureList("pcr:sha256:1"), bad);
  EXPECT_THAT(std::string(size.status().message()), HasSubstr("must be 32 bytes"));
  EXPECT_EQ(policy.allow(0).pcrs_size(), 0);
}

}  // namespace
}  // namespace kb
