// `keybrokerctl policy add-value|remove-value|set-pcr|unset-pcr|add-rule|show|
// add-from-evidence` against a real keybrokerd: edits go through SetPolicy (validated,
// audited, compare-and-set on the policy version); values from evidence come from the claims
// the broker verified. Evidence comes from a software TPM, as in keybrokerctl_dry_run_test.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPcr7 = HexEncode(std::string(32, '\x07'));

class PolicyEditTest : public KeybrokerctlFixture {
 protected:
  // A key with one rule 'r1': machine `machine`, PCR 7 = kPcr7.
  static void KeyWithPolicy(const std::string& key_id, const std::string& machine) {
    ASSERT_EQ(Ctl({"key", "create", key_id}).exit_code, 0);
    const std::string policy =
        absl::StrCat(R"({"allow":[{"name":"r1","machines":[")", machine,
                     R"("],"pcrs":[{"index":7,"allowed":[")", kPcr7, R"("]}]}]})");
    CommandResult set = Ctl({"policy", "set", key_id, "-"}, "operator", policy);
    ASSERT_EQ(set.exit_code, 0) << set.output;
  }

  static std::string Show(const std::string& key_id) {
    return Ctl({"policy", "show", key_id}).output;
  }

  // A guest registered as `machine` with PCR 7 = `pcr7`; its evidence in protobuf JSON.
  static std::string GuestEvidence(const std::string& machine, const std::string& pcr7,
                                   bool tamper = false) {
    auto tpm = *SoftwareTpm::Create();
    tpm->SetPcr(7, pcr7);
    const std::string ak = broker_->Path(machine + ".ak");
    EXPECT_THAT(WriteFileAtomic(ak, *tpm->AttestationKeyPublic()), IsOk());
    EXPECT_EQ(Ctl({"ak", "register", "--machine", machine, "--ak-public", ak}).exit_code, 0);
    auto request = BuildRequest(*tpm, "none", std::string(32, 'n'), "any");
    EXPECT_THAT(request, IsOk());
    v1::Evidence evidence = request->evidence();
    if (tamper) (*evidence.mutable_tpm_quote()->mutable_signature())[20] ^= 1;
    std::string json;
    EXPECT_THAT(google::protobuf::util::MessageToJsonString(evidence, &json), IsOk());
    const std::string path = broker_->Path(machine + ".evidence.json");
    EXPECT_THAT(WriteFileAtomic(path, json), IsOk());
    return path;
  }
};

TEST_F(PolicyEditTest, AddsAndRemovesValues) {
  KeyWithPolicy("edit-disk", "web-1");
  CommandResult add = Ctl({"policy", "add-value", "edit-disk", "--claim", "machines", "--value",
                           "web-2", "--value", "web-3"});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_THAT(add.output, HasSubstr("policy version 2 stored for key edit-disk (was 1)"));
  EXPECT_THAT(add.output, HasSubstr("added machines web-3 (rule #0 'r1')"));
  EXPECT_THAT(Show("edit-disk"), HasSubstr("0     r1    machines        web-2"));

  CommandResult again =
      Ctl({"policy", "add-value", "edit-disk", "--claim", "machines", "--value", "web-2"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("unchanged (version 2)"));

  CommandResult remove =
      Ctl({"policy", "remove-value", "edit-disk", "--claim", "machine", "--value", "web-2"});
  ASSERT_EQ(remove.exit_code, 0) << remove.output;
  EXPECT_THAT(Show("edit-disk"), Not(HasSubstr("web-2")));
  CommandResult absent =
      Ctl({"policy", "remove-value", "edit-disk", "--claim", "machine", "--value", "web-2"});
  EXPECT_EQ(absent.exit_code, 2) << absent.output;
  EXPECT_THAT(absent.output, HasSubstr("keybrokerctl: rule #0 'r1': machines does not list web-2"));

  // Every change went through SetPolicy and its audit record.
  CommandResult audit = Ctl({"audit", "list", "--key-id", "edit-disk"});
  EXPECT_THAT(audit.output, HasSubstr("set_policy"));
  EXPECT_THAT(audit.output, HasSubstr("policy v3"));
}

TEST_F(PolicyEditTest, SetsAndUnsetsPcrsAndRules) {
  KeyWithPolicy("pcr-disk", "web-1");
  const std::string pcr4(64, 'c');
  CommandResult set =
      Ctl({"policy", "set-pcr", "pcr-disk", "--index", "4", "--value", std::string(64, 'C')});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_THAT(Show("pcr-disk"), HasSubstr("pcr:sha256:4    " + pcr4));
  CommandResult json = Ctl({"--json", "policy", "show", "pcr-disk"});
  EXPECT_THAT(json.output, HasSubstr(pcr4));
  ASSERT_EQ(Ctl({"policy", "unset-pcr", "pcr-disk", "--index", "4"}).exit_code, 0);
  EXPECT_THAT(Show("pcr-disk"), Not(HasSubstr("pcr:sha256:4")));

  CommandResult rule =
      Ctl({"policy", "add-rule", "pcr-disk", "--name", "snp-web", "--evidence-type", "snp",
           "--claim", "snp.measurement", "--value", std::string(96, 'a')});
  ASSERT_EQ(rule.exit_code, 0) << rule.output;
  EXPECT_THAT(Show("pcr-disk"), HasSubstr("1     snp-web  snp.measurement"));
  // Two rules now: --rule is needed, and must be in range.
  CommandResult ambiguous =
      Ctl({"policy", "set-min-tcb", "pcr-disk", "--tcb", "snp=8,microcode=115"});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_THAT(ambiguous.output, HasSubstr("the policy has 2 rules: choose one with --rule 0..1"));
  EXPECT_EQ(Ctl({"policy", "set-min-tcb", "pcr-disk", "--rule", "1", "--tcb", "snp=8"}).exit_code,
            0);
  EXPECT_THAT(Show("pcr-disk"), HasSubstr("bootloader>=0 tee>=0 snp>=8 microcode>=0"));
  CommandResult range = Ctl({"policy", "unset-pcr", "pcr-disk", "--rule", "5", "--index", "7"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_THAT(range.output, HasSubstr("--rule 5 is out of range: the policy has 2 rules (0..1)"));
  ASSERT_EQ(Ctl({"policy", "remove-rule", "pcr-disk", "--rule", "1"}).exit_code, 0);
  EXPECT_THAT(Show("pcr-disk"), HasSubstr("1 rule"));
}

TEST_F(PolicyEditTest, RejectsBadValuesLocally) {
  KeyWithPolicy("bad-disk", "web-1");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--claim", "snp.measurment", "--value", "aa"}, "unknown claim 'snp.measurment'"},
      {{"--claim", "snp.measurement", "--value", std::string(96, 'x')}, "is not hex"},
      {{"--claim", "tdx.mrtd", "--value", std::string(64, 'a')},
       "tdx.mrtd must be 48 bytes (96 hex digits), got 64 hex digits"},
      {{"--claim", "tdx.rtmr2", "--value", "ab"}, "tdx.rtmr2 must be 48 bytes"},
      {{"--claim", "pcr:sha256:7", "--value", std::string(96, 'a')},
       "pcr:sha256:7 must be 32 bytes"},
      {{"--claim", "evidence_types", "--value", "sgx"}, "not an evidence type"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"policy", "add-value", "bad-disk"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message));
  }
  // The broker's own validation still applies: removing the last constraint is refused.
  ASSERT_EQ(Ctl({"policy", "unset-pcr", "bad-disk", "--index", "7"}).exit_code, 0);
  CommandResult refused =
      Ctl({"policy", "remove-value", "bad-disk", "--claim", "machines", "--value", "web-1"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(refused.output, HasSubstr("it would allow every verified guest"));
  // Only admins may change policies.
  EXPECT_EQ(
      Ctl({"policy", "add-value", "bad-disk", "--claim", "machines", "--value", "x"}, "olivia")
          .exit_code,
      1);
}

TEST_F(PolicyEditTest, AddsVerifiedValuesFromEvidence) {
  KeyWithPolicy("ev-disk", "web-1");
  const std::string new_pcr7(32, '\x42');
  const std::string evidence = GuestEvidence("ev-2", new_pcr7);
  EXPECT_EQ(Ctl({"policy", "test", "ev-disk", "--evidence", evidence}).exit_code, 1);
  CommandResult add = Ctl({"policy", "add-from-evidence", "ev-disk", "--evidence", evidence,
                           "--claims", "machine,pcr:sha256:7"});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_THAT(add.output, HasSubstr("added machines ev-2"));
  EXPECT_THAT(add.output, HasSubstr("added pcr:sha256:7 " + HexEncode(new_pcr7)));
  CommandResult test = Ctl({"policy", "test", "ev-disk", "--evidence", evidence});
  EXPECT_EQ(test.exit_code, 0) << test.output;

  // A key without a policy: a new rule from the evidence alone.
  ASSERT_EQ(Ctl({"key", "create", "golden-disk"}).exit_code, 0);
  CommandResult fresh =
      Ctl({"policy", "add-from-evidence", "golden-disk", "--new-rule", "--name", "golden",
           "--evidence", evidence, "--claims", "evidence_type,machine,pcr:sha256:0,pcr:sha256:7"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_THAT(fresh.output, HasSubstr("policy version 1 stored for key golden-disk (was 0)"));
  EXPECT_THAT(Show("golden-disk"), HasSubstr("0     golden  evidence_types  tpm"));
  EXPECT_EQ(Ctl({"policy", "test", "golden-disk", "--evidence", evidence}).exit_code, 0);

  // Claims the evidence does not carry (it quotes PCRs 0 and 7), and evidence that does not
  // verify: nothing is stored.
  CommandResult snp = Ctl({"policy", "add-from-evidence", "ev-disk", "--evidence", evidence,
                           "--claims", "snp.measurement"});
  EXPECT_EQ(snp.exit_code, 2);
  EXPECT_THAT(snp.output, HasSubstr("has no verified claim 'snp.measurement'"));
  CommandResult range = Ctl({"policy", "add-from-evidence", "ev-disk", "--evidence", evidence,
                             "--claims", "pcr:sha256:0-7"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_THAT(range.output, HasSubstr("has no verified claim 'pcr.sha256:1'"));
  const std::string forged = GuestEvidence("ev-3", std::string(32, '\x43'), /*tamper=*/true);
  CommandResult bad = Ctl({"policy", "add-from-evidence", "ev-disk", "--evidence", forged,
                           "--claims", "machine,pcr:sha256:7"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("UNAUTHENTICATED: evidence " + forged + " did not verify"));
  EXPECT_THAT(Show("ev-disk"), Not(HasSubstr("ev-3")));
}

TEST_F(PolicyEditTest, ConcurrentEditsAreNeverLost) {
  KeyWithPolicy("race-disk", "web-1");
  // A stale version is refused by the broker.
  auto stub = broker_->AdminStub();
  v1::SetPolicyRequest stale;
  stale.set_key_id("race-disk");
  stale.set_policy_json(R"({"allow":[{"machines":["intruder"]}]})");
  stale.set_expected_version(0);
  v1::SetPolicyResponse response;
  grpc::ClientContext ctx;
  grpc::Status status = stub->SetPolicy(&ctx, stale, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("changed since version 0 (now 1)"));

  // Editors racing: each either stores its machine or is refused; none is silently lost.
  constexpr int kEditors = 6;
  std::vector<CommandResult> results(kEditors);
  std::vector<std::thread> threads;
  for (int i = 0; i < kEditors; ++i) {
    threads.emplace_back([i, &results] {
      results[i] = Ctl({"policy", "add-value", "race-disk", "--claim", "machines", "--value",
                        absl::StrCat("racer-", i)});
    });
  }
  for (std::thread& t : threads) t.join();
  const std::string shown = Show("race-disk");
  EXPECT_THAT(shown, Not(HasSubstr("intruder")));
  for (int i = 0; i < kEditors; ++i) {
    const std::string machine = absl::StrCat("racer-", i);
    if (results[i].exit_code == 0) {
      EXPECT_THAT(shown, HasSubstr(machine)) << "lost update: " << results[i].output;
    } else {
      EXPECT_EQ(results[i].exit_code, 1) << results[i].output;
      EXPECT_THAT(results[i].output, HasSubstr("FAILED_PRECONDITION: policy of key 'race-disk' "
                                               "changed since version"));
      EXPECT_THAT(shown, Not(HasSubstr(machine)));
    }
  }
}

}  // namespace
}  // namespace kb
