// `keybrokerctl policy test` (release dry run on captured evidence) and `offline revoke` /
// `offline restore` against a real keybrokerd. Evidence comes from a software TPM, written to
// files as kb.v1.Evidence (binary and protobuf JSON).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/integration/release_over_grpc.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DryRunTest : public KeybrokerctlFixture {
 protected:
  static std::string Policy(const std::string& machine, uint32_t offline_boots) {
    return absl::StrCat(R"({"allow":[{"name":"r1","offline_boots":)", offline_boots,
                        R"(,"machines":[")", machine, R"("],"pcrs":[{"index":7,"allowed":[")",
                        HexEncode(std::string(32, '\x07')), R"("]}]}]})");
  }

  // A guest registered as `machine`, allowed `key_id` by PCR 7 with 4 offline boots.
  std::unique_ptr<SoftwareTpm> Guest(const std::string& machine, const std::string& key_id) {
    auto tpm = *SoftwareTpm::Create();
    tpm->SetPcr(7, std::string(32, '\x07'));
    const std::string ak = broker_->Path(machine + ".ak");
    EXPECT_THAT(WriteFileAtomic(ak, *tpm->AttestationKeyPublic()), IsOk());
    EXPECT_EQ(Ctl({"ak", "register", "--machine", machine, "--ak-public", ak}).exit_code, 0);
    EXPECT_EQ(Ctl({"key", "create", key_id}).exit_code, 0);
    CommandResult set = Ctl({"policy", "set", key_id, "-"}, "operator", Policy(machine, 4));
    EXPECT_EQ(set.exit_code, 0) << set.output;
    return tpm;
  }

  // Captured evidence of `tpm` written to a file, binary or protobuf JSON.
  static std::string EvidenceFile(Tpm& tpm, const std::string& name, bool json) {
    auto request = BuildRequest(tpm, "none", std::string(32, 'n'), "any");
    EXPECT_THAT(request, IsOk());
    std::string data;
    if (json) {
      EXPECT_THAT(google::protobuf::util::MessageToJsonString(request->evidence(), &data), IsOk());
    } else {
      data = request->evidence().SerializeAsString();
    }
    const std::string path = broker_->Path(name);
    EXPECT_THAT(WriteFileAtomic(path, data), IsOk());
    return path;
  }

  static absl::StatusOr<v1::ReleaseKeyResponse> Release(Tpm& tpm, const std::string& key_id) {
    return ReleaseOverGrpc(*broker_, tpm, key_id);
  }
};

TEST_F(DryRunTest, PolicyTestAllowsAndDeniesCapturedEvidence) {
  auto tpm = Guest("dry-1", "dry-disk");
  const std::string bin = EvidenceFile(*tpm, "dry-1.evidence", false);
  const std::string json = EvidenceFile(*tpm, "dry-1.evidence.json", true);
  CommandResult allow =
      Ctl({"policy", "test", "dry-disk", "--evidence", bin, "--evidence", json}, "olivia");
  EXPECT_EQ(allow.exit_code, 0) << allow.output;
  EXPECT_THAT(allow.output, HasSubstr(": allow"));
  EXPECT_THAT(allow.output, HasSubstr("rule: 'r1', offline_boots 4"));
  EXPECT_THAT(allow.output, HasSubstr("binding: not checked (dry run)"));
  EXPECT_THAT(allow.output, HasSubstr("pcr.sha256:7 = "));

  const std::string candidate = broker_->Path("candidate.json");
  ASSERT_THAT(WriteFileAtomic(candidate, Policy("someone-else", 0)), IsOk());
  CommandResult deny =
      Ctl({"policy", "test", "dry-disk", "--evidence", bin, "--policy", candidate});
  EXPECT_EQ(deny.exit_code, 1) << deny.output;
  EXPECT_THAT(deny.output, HasSubstr("machine 'dry-1' not allowed"));
  EXPECT_THAT(deny.output, HasSubstr("candidate"));

  const std::string junk = broker_->Path("junk.evidence");
  ASSERT_THAT(WriteFileAtomic(junk, "not evidence"), IsOk());
  EXPECT_EQ(Ctl({"policy", "test", "dry-disk", "--evidence", junk}).exit_code, 2);

  CommandResult audit = Ctl({"audit", "list", "--key-id", "dry-disk"}, "operator");
  EXPECT_THAT(audit.output, HasSubstr("policy_test"));
  EXPECT_THAT(audit.output, Not(HasSubstr("release")));
}

// Raw files as `verify-evidence` takes them, turned into kb.v1.Evidence JSON by
// --json-evidence-out, then tested against the stored policy.
TEST_F(DryRunTest, VerifyEvidenceCapturesEvidenceForPolicyTest) {
  auto tpm = Guest("raw-1", "raw-disk");
  auto request = BuildRequest(*tpm, "none", std::string(32, 'n'), "any");
  ASSERT_THAT(request, IsOk());
  const v1::TpmQuoteEvidence& q = request->evidence().tpm_quote();
  std::string pcrs;
  for (const v1::PcrValue& v : q.pcrs())
    absl::StrAppend(&pcrs, v.index(), " ", HexEncode(v.digest()), "\n");
  const std::string attest = broker_->Path("raw-1.attest"), sig = broker_->Path("raw-1.sig"),
                    ak = broker_->Path("raw-1.tpmt"), pcr_file = broker_->Path("raw-1.pcrs"),
                    out = broker_->Path("raw-1.evidence.json");
  ASSERT_THAT(WriteFileAtomic(attest, q.attest()), IsOk());
  ASSERT_THAT(WriteFileAtomic(sig, q.signature()), IsOk());
  ASSERT_THAT(WriteFileAtomic(ak, q.ak_public()), IsOk());
  ASSERT_THAT(WriteFileAtomic(pcr_file, pcrs), IsOk());
  CommandResult capture = RunCommand({BinaryPath("keybrokerctl"), "verify-evidence", "--type",
                                      "tpm", "--tpm-quote", attest, "--tpm-signature", sig, "--ak",
                                      ak, "--pcrs", pcr_file, "--json-evidence-out", out});
  ASSERT_THAT(ReadFile(out), IsOk()) << capture.output;
  CommandResult test = Ctl({"policy", "test", "raw-disk", "--evidence", out});
  EXPECT_EQ(test.exit_code, 0) << test.output;
  EXPECT_THAT(test.output, HasSubstr("machine raw-1, verified"));
}

TEST_F(DryRunTest, OfflineRevokeZeroesOfflineBootsUntilRestored) {
  auto tpm = Guest("off-1", "off-disk");
  EXPECT_EQ(Release(*tpm, "off-disk")->offline_boots(), 4u);
  CommandResult revoke =
      Ctl({"offline", "revoke", "off-disk", "--machine", "off-1", "--reason", "decommissioned"},
          "olivia");
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_EQ(Release(*tpm, "off-disk")->offline_boots(), 0u);
  CommandResult audit = Ctl({"audit", "list", "--key-id", "off-disk", "--limit", "1"}, "operator");
  EXPECT_THAT(audit.output, HasSubstr("decommissioned"));
  EXPECT_EQ(Ctl({"offline", "restore", "off-disk", "--machine", "off-1"}).exit_code, 0);
  EXPECT_EQ(Release(*tpm, "off-disk")->offline_boots(), 4u);
  EXPECT_EQ(Ctl({"offline", "revoke", "off-disk"}, "auditor").exit_code, 1);
}

}  // namespace
}  // namespace kb
