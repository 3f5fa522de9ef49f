// Command lines of the policy reference-value commands (ctl_spec.cc rows, policy_edit_flags.cc).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ctl/ctl_args.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<CtlCommand> Parse(std::vector<std::string> rest) {
  std::vector<std::string> args = {"--addr", "127.0.0.1:9443", "--ca",  "ca.pem",
                                   "--cert", "op.pem",         "--key", "op.key"};
  args.insert(args.end(), rest.begin(), rest.end());
  return ParseCtlArgs(args, [](const std::string&) { return std::optional<std::string>(); });
}

std::string ErrorOf(std::vector<std::string> rest) {
  auto cmd = Parse(rest);
  EXPECT_FALSE(cmd.ok());
  return cmd.ok() ? "" : std::string(cmd.status().message());
}

TEST(PolicyEditArgsTest, AddValue) {
  auto cmd = Parse({"policy", "add-value", "disk", "--rule", "1", "--claim", "snp.measurement",
                    "--value", "aa", "--value", "bb"});
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->kind, CtlCommandKind::kPolicyAddValue);
  EXPECT_EQ(cmd->key_id, "disk");
  EXPECT_EQ(cmd->policy_edit.rule, 1);
  EXPECT_EQ(cmd->policy_edit.claim, "snp.measurement");
  EXPECT_THAT(cmd->policy_edit.values, ElementsAre("aa", "bb"));
  EXPECT_THAT(ErrorOf({"policy", "add-value", "disk", "--claim", "x"}),
              HasSubstr("missing --value"));
  EXPECT_THAT(
      ErrorOf({"policy", "add-value", "disk", "--rule", "-1", "--claim", "x", "--value", "y"}),
      HasSubstr("--rule must be a rule index"));
}

TEST(PolicyEditArgsTest, SetPcrDefaultsToSha256) {
  auto cmd = Parse({"policy", "set-pcr", "disk", "--index", "7", "--value", "ab"});
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->kind, CtlCommandKind::kPolicySetPcr);
  EXPECT_EQ(cmd->policy_edit.bank, "sha256");
  EXPECT_EQ(cmd->policy_edit.index, 7u);
  EXPECT_FALSE(cmd->policy_edit.rule.has_value());
  EXPECT_THAT(ErrorOf({"policy", "set-pcr", "disk", "--index", "24", "--value", "ab"}),
              HasSubstr("--index must be a PCR index 0..23, got '24'"));
  EXPECT_THAT(ErrorOf({"policy", "unset-pcr", "disk", "--bank", "md5", "--index", "1"}),
              HasSubstr("--bank must be sha1, sha256 or sha384"));
  EXPECT_THAT(ErrorOf({"policy", "unset-pcr", "disk", "--value", "ab", "--index", "1"}),
              HasSubstr("unknown flag --value for 'policy unset-pcr'"));
}

TEST(PolicyEditArgsTest, AddFromEvidenceAndAddRule) {
  auto cmd = Parse({"policy", "add-from-evidence", "disk", "--new-rule", "--name", "golden",
                    "--evidence", "a.json", "--evidence", "b.json", "--claims", "pcr:sha256:0-7"});
  ASSERT_THAT(cmd, IsOk());
  EXPECT_EQ(cmd->kind, CtlCommandKind::kPolicyAddFromEvidence);
  EXPECT_TRUE(cmd->policy_edit.new_rule);
  EXPECT_EQ(cmd->policy_edit.name, "golden");
  EXPECT_THAT(cmd->evidence_files, ElementsAre("a.json", "b.json"));
  EXPECT_EQ(cmd->policy_edit.claims, "pcr:sha256:0-7");
  EXPECT_THAT(ErrorOf({"policy", "add-from-evidence", "disk", "--evidence", "a"}),
              HasSubstr("missing --claims"));
  auto rule = Parse({"policy", "add-rule", "disk", "--evidence-type", "snp", "--claim",
                     "snp.measurement", "--value", "aa"});
  ASSERT_THAT(rule, IsOk());
  EXPECT_THAT(rule->policy_edit.evidence_types, ElementsAre("snp"));
  auto show = Parse({"--json", "policy", "show", "disk"});
  ASSERT_THAT(show, IsOk());
  EXPECT_EQ(show->kind, CtlCommandKind::kPolicyShow);
  EXPECT_THAT(CtlUsage(), HasSubstr("policy set-min-tcb KEY_ID [--rule N] --tcb"));
}

}  // namespace
}  // namespace kb
