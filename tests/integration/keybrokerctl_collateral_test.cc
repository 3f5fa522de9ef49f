// keybrokerctl collateral import/list/delete against a real keybrokerd over mutual TLS, with
// real vendor files (tests/data) checked at the broker's real time.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kb/v1/evidence.pb.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class KeybrokerctlCollateralTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto broker = BrokerProcess::Start();
    ASSERT_THAT(broker, IsOk());
    broker_ = broker->release();
  }
  static void TearDownTestSuite() { delete broker_; }

  CommandResult Ctl(std::vector<std::string> args, const std::string& cert = "operator") {
    std::vector<std::string> argv = {
        BinaryPath("keybrokerctl"),  "--addr", broker_->admin_endpoint(),    "--ca",
        broker_->Path("ca.pem"),     "--cert", broker_->Path(cert + ".pem"), "--key",
        broker_->Path(cert + ".key")};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  static std::string Data(const std::string& file) {
    return SourcePath(absl::StrCat("tests/data/", file));
  }
  // The id of the entry whose line mentions `needle` in `collateral list` output.
  std::string IdOf(const std::string& needle) {
    CommandResult list = Ctl({"collateral", "list"});
    for (absl::string_view line : absl::StrSplit(list.output, '\n')) {
      if (absl::StrContains(line, needle)) return std::string(line.substr(0, 16));
    }
    return "";
  }

  static BrokerProcess* broker_;
};
BrokerProcess* KeybrokerctlCollateralTest::broker_ = nullptr;

TEST_F(KeybrokerctlCollateralTest, ImportReportsEachFileAndRefusalsExitOne) {
  const std::string garbage = broker_->Path("garbage.bin");
  ASSERT_THAT(WriteFileAtomic(garbage, "definitely not collateral"), IsOk());
  // The VLEK expired on 2025-12-10 and every TDX tcbInfo vector has passed its nextUpdate.
  CommandResult r =
      Ctl({"collateral", "import", Data("snp/trustee_test-vcek.der"),
           Data("snp/trustee_test-vlek.der"), garbage,
           Data("tdx/teekit_tcbInfo-tdx-00806f050000.json"), Data("snp/virtee_vcek_turin.der")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("trustee_test-vcek.der: imported vcek "));
  EXPECT_THAT(r.output, HasSubstr("Milan VCEK hwID "));
  EXPECT_THAT(r.output, HasSubstr("virtee_vcek_turin.der: imported vcek "));
  EXPECT_THAT(r.output, HasSubstr("trustee_test-vlek.der: refused (FAILED_PRECONDITION): "
                                  "'" +
                                  Data("snp/trustee_test-vlek.der") +
                                  "': collateral check 'validity' failed: VLEK has expired"));
  EXPECT_THAT(r.output, HasSubstr("garbage.bin: refused (INVALID_ARGUMENT)"));
  EXPECT_THAT(r.output, HasSubstr("collateral check 'recognise' failed"));
  EXPECT_THAT(r.output, HasSubstr("tcbInfo for FMSPC 00806f050000 has expired"));
  EXPECT_THAT(r.output, HasSubstr("refused 3 of 5 file(s)"));

  CommandResult list = Ctl({"collateral", "list"}, "auditor");  // any role lists
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr("Milan VCEK"));
  EXPECT_THAT(list.output, HasSubstr("Turin VCEK"));
  EXPECT_THAT(list.output, Not(HasSubstr("VLEK")));
  CommandResult json = Ctl({"--json", "collateral", "list"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"kind\":\"vcek\""));
  EXPECT_THAT(json.output, HasSubstr("\"not_after\":\"2030-01-24T17:58:26Z\""));

  CommandResult again = Ctl({"collateral", "import", Data("snp/trustee_test-vcek.der")});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("; replaced "));
}

TEST_F(KeybrokerctlCollateralTest, RolesAndDelete) {
  CommandResult denied = Ctl({"collateral", "import", Data("snp/gosev_vcek_milan.der")}, "auditor");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.output, HasSubstr("PERMISSION_DENIED"));
  CommandResult by_operator =
      Ctl({"collateral", "import", Data("snp/gosev_vcek_milan.der")}, "olivia");
  ASSERT_EQ(by_operator.exit_code, 0) << by_operator.output;
  const std::string id = IdOf("gosev_vcek_milan.der");
  ASSERT_EQ(id.size(), 16u) << Ctl({"collateral", "list"}).output;
  EXPECT_EQ(Ctl({"collateral", "delete", id}, "auditor").exit_code, 1);
  CommandResult deleted = Ctl({"collateral", "delete", id}, "olivia");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_THAT(deleted.output, HasSubstr(absl::StrCat("deleted vcek ", id)));
  CommandResult gone = Ctl({"collateral", "delete", id});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.output, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(IdOf("gosev_vcek_milan.der"), "");

  CommandResult audit = Ctl({"audit", "list", "--limit", "20"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("import_collateral"));
  EXPECT_THAT(audit.output, HasSubstr("delete_collateral"));
}

// The broker's own SEV-SNP verifier takes a VCEK that the evidence lacks from the cache
// (through `policy test`, a dry run with the broker's verifiers).
TEST_F(KeybrokerctlCollateralTest, SnpEvidenceWithoutVcekVerifiesWithTheCachedOne) {
  auto report = ReadFile(Data("snp/derived_virtee_report_milan.bin"));
  ASSERT_THAT(report, IsOk());
  v1::Evidence evidence;
  evidence.mutable_snp_report()->set_report(*report);  // no vcek, no cert_table
  const std::string file = broker_->Path("snp-no-vcek.evidence");
  ASSERT_THAT(WriteFileAtomic(file, evidence.SerializeAsString()), IsOk());
  const std::string policy = broker_->Path("snp-policy.json");
  ASSERT_THAT(WriteFileAtomic(policy, R"({"allow":[{"machines":["m1"]}]})"), IsOk());
  ASSERT_EQ(Ctl({"key", "create", "cache-disk"}).exit_code, 0);
  ASSERT_EQ(Ctl({"policy", "set", "cache-disk", policy}).exit_code, 0);

  CommandResult before = Ctl({"policy", "test", "cache-disk", "--evidence", file});
  EXPECT_EQ(before.exit_code, 1) << before.output;
  EXPECT_THAT(before.output, HasSubstr("evidence check 'parse' failed: no VCEK/VLEK"));
  ASSERT_EQ(Ctl({"collateral", "import", Data("snp/virtee_vcek_milan.der")}).exit_code, 0);
  CommandResult after = Ctl({"policy", "test", "cache-disk", "--evidence", file});
  EXPECT_EQ(after.exit_code, 1) << after.output;  // verified, then denied by the policy
  EXPECT_THAT(after.output, Not(HasSubstr("evidence check")));
  EXPECT_THAT(after.output, HasSubstr("machine 'snp-chip:"));
}

TEST_F(KeybrokerctlCollateralTest, UsageErrors) {
  EXPECT_EQ(Ctl({"collateral", "import"}).exit_code, 2);
  EXPECT_EQ(Ctl({"collateral", "delete"}).exit_code, 2);
  EXPECT_EQ(Ctl({"collateral", "frob"}).exit_code, 2);
}

}  // namespace
}  // namespace kb
