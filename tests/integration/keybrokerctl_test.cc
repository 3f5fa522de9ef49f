// keybrokerctl against a real keybrokerd over mutual TLS.
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/keybrokerctl_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class KeybrokerctlTest : public KeybrokerctlFixture {};

TEST_F(KeybrokerctlTest, KeyLifecycle) {
  CommandResult create = Ctl({"key", "create", "ctl-disk", "--size", "64"});
  ASSERT_EQ(create.exit_code, 0) << create.output;
  EXPECT_THAT(create.output, HasSubstr("64 bytes"));
  CommandResult again = Ctl({"key", "create", "ctl-disk"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr("ALREADY_EXISTS"));
  CommandResult list = Ctl({"--json", "key", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr("\"key_id\":\"ctl-disk\""));
  EXPECT_EQ(Ctl({"key", "disable", "ctl-disk"}).exit_code, 0);
  EXPECT_THAT(Ctl({"key", "show", "ctl-disk"}).output, HasSubstr("disabled:        yes"));
  CommandResult missing = Ctl({"key", "show", "no-such-key"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("NOT_FOUND"));
}

TEST_F(KeybrokerctlTest, PolicyFromStdinAndValidation) {
  ASSERT_EQ(Ctl({"key", "create", "ctl-policy"}).exit_code, 0);
  CommandResult bad = Ctl({"policy", "set", "ctl-policy", "-"}, "operator", R"({"allow":[{}]})");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad.output, HasSubstr("allow every verified guest"));
  CommandResult good =
      Ctl({"policy", "set", "ctl-policy", "-"}, "operator", R"({"allow":[{"machines":["m1"]}]})");
  ASSERT_EQ(good.exit_code, 0) << good.output;
  CommandResult get = Ctl({"policy", "get", "ctl-policy"});
  EXPECT_THAT(get.output, HasSubstr("\"m1\""));
}

TEST_F(KeybrokerctlTest, PolicySetWithExpectedVersionIsCompareAndSet) {
  ASSERT_EQ(Ctl({"key", "create", "ctl-cas"}).exit_code, 0);
  const std::string p1 = R"({"allow":[{"machines":["m1"]}]})";
  const std::string p2 = R"({"allow":[{"machines":["m2"]}]})";
  ASSERT_EQ(
      Ctl({"policy", "set", "ctl-cas", "-", "--expected-version", "0"}, "operator", p1).exit_code,
      0);
  // Another operator's edit based on "no policy yet" is refused, and nothing is lost.
  CommandResult stale =
      Ctl({"policy", "set", "ctl-cas", "-", "--expected-version", "0"}, "operator", p2);
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.output, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(stale.output, HasSubstr("changed since version 0 (now 1)"));
  EXPECT_THAT(Ctl({"policy", "get", "ctl-cas"}).output, HasSubstr("\"m1\""));
  CommandResult fresh =
      Ctl({"policy", "set", "ctl-cas", "-", "--expected-version", "1"}, "operator", p2);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_THAT(fresh.output, HasSubstr("policy version 2"));
  EXPECT_EQ(
      Ctl({"policy", "set", "ctl-cas", "-", "--expected-version", "x"}, "operator", p2).exit_code,
      2);
}

TEST_F(KeybrokerctlTest, UntrustedClientCertificateIsRefused) {
  CommandResult r = Ctl({"key", "list"}, "rogue");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("UNAVAILABLE"));
}

// The traps of a first session: a key that is not the certificate's, the release port instead
// of the admin port, and --help on every binary and subcommand.
TEST_F(KeybrokerctlTest, MismatchedKeyNamesBothFiles) {
  std::vector<std::string> argv = {BinaryPath("keybrokerctl"),
                                   "--addr",
                                   broker_->admin_endpoint(),
                                   "--ca",
                                   broker_->Path("ca.pem"),
                                   "--cert",
                                   broker_->Path("operator.pem"),
                                   "--key",
                                   broker_->Path("server.key"),
                                   "key",
                                   "list"};
  CommandResult r = RunCommand(argv);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--key " + broker_->Path("server.key") +
                                  " is not the private key of the certificate in --cert " +
                                  broker_->Path("operator.pem")));
}

TEST_F(KeybrokerctlTest, ReleasePortIsNamedAsNotTheAdminApi) {
  std::vector<std::string> argv = KeybrokerctlArgv(*broker_, "operator");
  argv[2] = broker_->release_endpoint();  // --addr
  argv.insert(argv.end(), {"key", "list"});
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("does not serve the admin API (kb.v1.KeyAdmin): is this the "
                                  "broker's release port?"));
}

TEST_F(KeybrokerctlTest, HelpExitsZeroEverywhere) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {BinaryPath("keybrokerctl"), "--help"},
           {BinaryPath("keybrokerctl"), "key", "create", "--help"},
           {BinaryPath("keybrokerctl"), "verify-evidence", "-h"},
           {BinaryPath("keybrokerd"), "--help"},
           {BinaryPath("kbunlock"), "--help"},
           {BinaryPath("kbunlock"), "unlock", "--help"}}) {
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << argv[0] << " " << argv[1] << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("usage")) << argv[0] << " " << argv[1];
  }
}

TEST_F(KeybrokerctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Ctl({"key", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Ctl({"policy", "set", "k", "/nonexistent.json"}).exit_code, 2);
  EXPECT_EQ(Ctl({"key", "create", "k", "--size", "16"}).exit_code, 2);
}

TEST_F(KeybrokerctlTest, AuditRecordsOperatorActions) {
  ASSERT_EQ(Ctl({"key", "create", "ctl-audit"}).exit_code, 0);
  CommandResult audit = Ctl({"audit", "list", "--limit", "5"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("CN=operator-alice"));
  EXPECT_THAT(audit.output, HasSubstr("create_key"));
}

}  // namespace
}  // namespace kb
