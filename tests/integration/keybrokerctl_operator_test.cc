// The operator plane against a real keybrokerd: roles per client certificate, rotation and
// retirement, machine revocation, the tamper-evident audit chain (tampered with the sqlite3
// CLI while the broker is stopped) and keybrokerctl's config file. Releases come from a
// software TPM over gRPC.
#include <grpcpp/client_context.h>

#include <sstream>

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

class OperatorPlaneTest : public KeybrokerctlFixture {
 protected:
  // A guest with a software TPM: registered as `machine`, allowed `key_id` by PCR 7.
  std::unique_ptr<SoftwareTpm> Guest(const std::string& machine, const std::string& key_id) {
    auto tpm = *SoftwareTpm::Create();
    tpm->SetPcr(7, std::string(32, '\x07'));
    const std::string ak = broker_->Path(machine + ".ak");
    EXPECT_THAT(WriteFileAtomic(ak, *tpm->AttestationKeyPublic()), IsOk());
    EXPECT_EQ(Ctl({"ak", "register", "--machine", machine, "--ak-public", ak}).exit_code, 0);
    EXPECT_EQ(Ctl({"key", "create", key_id}).exit_code, 0);
    const std::string policy = R"({"allow":[{"name":"r1","machines":[")" + machine +
                               R"("],"pcrs":[{"index":7,"allowed":[")" +
                               HexEncode(std::string(32, '\x07')) + R"("]}]}]})";
    CommandResult set = Ctl({"policy", "set", key_id, "-"}, "operator", policy);
    EXPECT_EQ(set.exit_code, 0) << set.output;
    return tpm;
  }

  static absl::StatusOr<v1::ReleaseKeyResponse> Release(Tpm& tpm, const std::string& key_id) {
    return ReleaseOverGrpc(*broker_, tpm, key_id);
  }
};

TEST_F(OperatorPlaneTest, CertificateWithoutRoleIsDeniedEverything) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"key", "list"}, {"key", "create", "x"}, {"audit", "list"}, {"machine", "list"}}) {
    CommandResult r = Ctl(args, "norole");
    EXPECT_EQ(r.exit_code, 1) << args[0] << " " << args[1] << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));
    EXPECT_THAT(r.output, HasSubstr("has roles: none"));
  }
  CommandResult audit =
      Ctl({"audit", "list", "--actor", "CN=operator-nobody", "--decision", "deny"}, "auditor");
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("create_key"));
}

TEST_F(OperatorPlaneTest, EachRoleIsDeniedWhatItMayNotDo) {
  ASSERT_EQ(Ctl({"key", "create", "roles-disk"}).exit_code, 0);
  struct Case {
    const char* cert;
    std::vector<std::string> args;
    const char* needed;  // "" if allowed
  };
  const Case cases[] = {
      {"olivia", {"key", "create", "olivia-disk"}, "requires role 'admin'"},
      {"olivia", {"policy", "set", "roles-disk", "/dev/null"}, ""},  // local error, see below
      {"olivia", {"audit", "list"}, "requires role 'auditor' (or 'admin')"},
      {"olivia", {"audit", "verify"}, "requires role 'auditor' (or 'admin')"},
      {"olivia", {"key", "rotate", "roles-disk"}, ""},
      {"olivia", {"key", "show", "roles-disk"}, ""},
      {"auditor", {"key", "rotate", "roles-disk"}, "requires role 'operator' (or 'admin')"},
      {"auditor", {"key", "disable", "roles-disk"}, "requires role 'operator' (or 'admin')"},
      {"auditor", {"machine", "deny", "m"}, "requires role 'operator' (or 'admin')"},
      {"auditor", {"key", "create", "auditor-disk"}, "requires role 'admin'"},
      {"auditor", {"key", "rotation-status", "roles-disk"}, ""},
      {"auditor", {"audit", "verify"}, ""},
      {"operator", {"audit", "list", "--limit", "1"}, ""},
  };
  for (const Case& c : cases) {
    if (c.args[0] == "policy") continue;
    CommandResult r = Ctl(c.args, c.cert);
    const std::string what = absl::StrCat(c.cert, ": ", c.args[0], " ", c.args[1]);
    if (*c.needed == '\0') {
      EXPECT_EQ(r.exit_code, 0) << what << ": " << r.output;
    } else {
      EXPECT_EQ(r.exit_code, 1) << what << ": " << r.output;
      EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED")) << what;
      EXPECT_THAT(r.output, HasSubstr(c.needed)) << what;
    }
  }
  CommandResult policy = Ctl({"policy", "set", "roles-disk", "-"}, "olivia", R"({"allow":[]})");
  EXPECT_EQ(policy.exit_code, 1) << policy.output;
  EXPECT_THAT(policy.output, HasSubstr("requires role 'admin'"));
}

TEST_F(OperatorPlaneTest, RotationThenReleaseReturnsTheNewVersion) {
  auto tpm = Guest("rot-vm", "rot-disk");
  auto first = Release(*tpm, "rot-disk");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->version(), 1u);
  EXPECT_EQ(first->latest_version(), 1u);
  CommandResult rotate = Ctl({"--json", "key", "rotate", "rot-disk"}, "olivia");
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  EXPECT_THAT(rotate.output, HasSubstr("\"latest_version\":2"));
  CommandResult status = Ctl({"key", "rotation-status", "rot-disk"}, "auditor");
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("active version 2"));
  EXPECT_THAT(status.output, HasSubstr("rot-vm   1"));
  // v1 is still rot-vm's latest release: retiring it needs --force.
  CommandResult retire = Ctl({"key", "retire", "rot-disk", "1"}, "olivia");
  EXPECT_EQ(retire.exit_code, 1);
  EXPECT_THAT(retire.output, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(retire.output, HasSubstr("rot-vm"));

  auto second = Release(*tpm, "rot-disk");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->version(), 2u);
  EXPECT_EQ(second->latest_version(), 2u);
  status = Ctl({"--json", "key", "rotation-status", "rot-disk"}, "auditor");
  EXPECT_THAT(status.output, HasSubstr("\"version\":2"));
  EXPECT_THAT(status.output, HasSubstr("\"current\":true"));
  retire = Ctl({"key", "retire", "rot-disk", "1"}, "olivia");
  ASSERT_EQ(retire.exit_code, 0) << retire.output;
  EXPECT_THAT(retire.output, HasSubstr("1 (retired), 2"));
  // The active version goes only with --force, and then nothing is released.
  EXPECT_EQ(Ctl({"key", "retire", "rot-disk", "2"}, "olivia").exit_code, 1);
  ASSERT_EQ(Ctl({"key", "retire", "rot-disk", "2", "--force"}, "olivia").exit_code, 0);
  auto none = Release(*tpm, "rot-disk");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kPermissionDenied);
  CommandResult audit =
      Ctl({"audit", "list", "--key-id", "rot-disk", "--machine", "rot-vm"}, "auditor");
  EXPECT_THAT(audit.output, HasSubstr("rot-disk/v2"));
  EXPECT_THAT(audit.output, HasSubstr("rot-disk/v1"));
  CommandResult forced = Ctl({"audit", "list", "--key-id", "rot-disk", "--decision", "allow",
                              "--since", "2020-01-01T00:00:00Z"},
                             "auditor");
  EXPECT_THAT(forced.output, HasSubstr("forced"));
}

TEST_F(OperatorPlaneTest, DeniedMachineIsRefusedAcrossKeys) {
  auto tpm = Guest("deny-vm", "deny-disk");
  ASSERT_THAT(Release(*tpm, "deny-disk"), IsOk());
  CommandResult deny = Ctl({"machine", "deny", "deny-vm", "--reason", "decommissioned"}, "olivia");
  ASSERT_EQ(deny.exit_code, 0) << deny.output;
  auto refused = Release(*tpm, "deny-disk");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "machine denied by operator");
  CommandResult list = Ctl({"--json", "machine", "list"}, "auditor");
  EXPECT_THAT(list.output, HasSubstr("\"denied_by\":\"CN=operator-olivia\""));
  CommandResult audit =
      Ctl({"audit", "list", "--machine", "deny-vm", "--decision", "deny"}, "auditor");
  EXPECT_THAT(audit.output, HasSubstr("machine denied by operator"));
  ASSERT_EQ(Ctl({"machine", "allow", "deny-vm"}, "olivia").exit_code, 0);
  EXPECT_THAT(Release(*tpm, "deny-disk"), IsOk());
}

TEST_F(OperatorPlaneTest, AMachineThatIsGoneIsForgottenAndAnAkRemoved) {
  auto tpm = Guest("gone-vm", "gone-disk");
  ASSERT_THAT(Release(*tpm, "gone-disk"), IsOk());
  ASSERT_EQ(Ctl({"key", "rotate", "gone-disk"}, "olivia").exit_code, 0);
  EXPECT_EQ(Ctl({"key", "retire", "gone-disk", "1"}, "olivia").exit_code, 1);  // gone-vm is on 1
  CommandResult forget = Ctl({"machine", "forget", "gone-vm"}, "olivia");
  EXPECT_EQ(forget.exit_code, 1);
  EXPECT_THAT(forget.output, HasSubstr("requires role 'admin'"));
  forget = Ctl({"machine", "forget", "gone-vm"});
  ASSERT_EQ(forget.exit_code, 0) << forget.output;
  EXPECT_THAT(forget.output, HasSubstr("machine gone-vm forgotten: 1 attestation key(s)"));
  EXPECT_THAT(Ctl({"ak", "list"}).output, Not(HasSubstr("gone-vm")));
  EXPECT_THAT(Ctl({"key", "rotation-status", "gone-disk"}).output, Not(HasSubstr("gone-vm")));
  EXPECT_EQ(Ctl({"key", "retire", "gone-disk", "1"}, "olivia").exit_code, 0);
  EXPECT_THAT(Release(*tpm, "gone-disk"), Not(IsOk()));  // its AK is no longer trusted

  auto other = Guest("other-vm", "other-disk");
  std::string name;
  std::istringstream rows(Ctl({"ak", "list"}).output);
  for (std::string machine, hex, rest; rows >> machine >> hex && std::getline(rows, rest);) {
    if (machine == "other-vm") name = hex;
  }
  ASSERT_FALSE(name.empty());
  CommandResult removed = Ctl({"ak", "remove", name});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_THAT(removed.output, HasSubstr("attestation key of machine other-vm removed"));
  EXPECT_THAT(Ctl({"ak", "remove", name}).output, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(Ctl({"ak", "remove", "xyz"}).output, HasSubstr("AK_NAME must be hex"));
  EXPECT_THAT(Release(*other, "other-disk"), Not(IsOk()));
  CommandResult audit = Ctl({"audit", "list", "--limit", "20"}, "auditor");
  EXPECT_THAT(audit.output, HasSubstr("remove_ak"));
  EXPECT_THAT(audit.output, HasSubstr("forget_machine"));
}

TEST_F(OperatorPlaneTest, OfflineListShowsGrantsAndRevocations) {
  auto tpm = Guest("off-vm", "off-disk");
  const std::string policy = R"({"allow":[{"name":"r1","offline_boots":2,"machines":["off-vm"],)"
                             R"("pcrs":[{"index":7,"allowed":[")" +
                             HexEncode(std::string(32, '\x07')) + R"("]}]}]})";
  ASSERT_EQ(Ctl({"policy", "set", "off-disk", "-"}, "operator", policy).exit_code, 0);
  ASSERT_EQ(Release(*tpm, "off-disk")->offline_boots(), 2u);
  CommandResult list = Ctl({"offline", "list"}, "auditor");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr("offline grants:"));
  EXPECT_THAT(list.output, ::testing::ContainsRegex("off-disk +off-vm +1 +2 +[0-9T:Z-]+ +no"));
  ASSERT_EQ(
      Ctl({"offline", "revoke", "off-disk", "--machine", "off-vm", "--reason", "stolen"}, "olivia")
          .exit_code,
      0);
  list = Ctl({"offline", "list", "--key-id", "off-disk"}, "olivia");
  EXPECT_THAT(list.output, ::testing::ContainsRegex("off-disk +off-vm +1 +2 +[0-9T:Z-]+ +yes"));
  EXPECT_THAT(list.output,
              ::testing::ContainsRegex("off-disk +off-vm +stolen +CN=operator-olivia"));
  CommandResult json = Ctl({"--json", "offline", "list", "--key-id", "off-disk"}, "auditor");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"revoked\":true"));
  EXPECT_THAT(json.output, HasSubstr("\"reason\":\"stolen\""));
  // The next release grants nothing, so the guest drops its copy: the grant is gone.
  ASSERT_EQ(Release(*tpm, "off-disk")->offline_boots(), 0u);
  json = Ctl({"--json", "offline", "list", "--key-id", "off-disk"}, "auditor");
  EXPECT_THAT(json.output, HasSubstr("\"grants\":[]"));
  EXPECT_EQ(Ctl({"offline", "list"}, "norole").exit_code, 1);
}

TEST_F(OperatorPlaneTest, ConfigFileSuppliesTheConnection) {
  const std::string config = broker_->Path("ctl.json");
  ASSERT_TRUE(WriteFileAtomic(config, absl::StrCat(R"({"addr":")", broker_->admin_endpoint(),
                                                   R"(","ca":"ca.pem","cert":"auditor.pem",)",
                                                   R"("key":"auditor.key"})"))
                  .ok());
  CommandResult r = RunCommand({BinaryPath("keybrokerctl"), "--config", config, "audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("audit chain ok"));
  // The default file under $HOME; a flag overrides it (the admin cert may create keys).
  const std::string home = broker_->Path("home");
  ASSERT_EQ(RunCommand({"/bin/mkdir", "-p", home + "/.config"}).exit_code, 0);
  ASSERT_TRUE(WriteFileAtomic(home + "/.config/keybrokerctl.json",
                              absl::StrCat(R"({"addr":")", broker_->admin_endpoint(), R"(","ca":")",
                                           broker_->Path("ca.pem"), R"(","cert":")",
                                           broker_->Path("auditor.pem"), R"(","key":")",
                                           broker_->Path("auditor.key"), R"("})"))
                  .ok());
  r = RunCommand({"/usr/bin/env", "HOME=" + home, BinaryPath("keybrokerctl"), "--json", "key",
                  "create", "cfg-disk"});
  EXPECT_EQ(r.exit_code, 1) << r.output;  // as auditor
  EXPECT_THAT(r.output, HasSubstr("requires role 'admin'"));
  r = RunCommand({"/usr/bin/env", "HOME=" + home, BinaryPath("keybrokerctl"), "--cert",
                  broker_->Path("operator.pem"), "--key", broker_->Path("operator.key"), "key",
                  "create", "cfg-disk"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(
      {BinaryPath("keybrokerctl"), "--config", broker_->Path("nope.json"), "key", "list"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

// Its own broker: it is stopped, and its database rewritten behind its back.
TEST(AuditTamperTest, VerifyReportsRecordsChangedWithSqlite3) {
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  BrokerProcess& b = **broker;
  auto ctl = [&b](std::vector<std::string> args) {
    std::vector<std::string> argv = KeybrokerctlArgv(b, "operator");
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  for (const char* k : {"t1", "t2", "t3", "t4"}) ASSERT_EQ(ctl({"key", "create", k}).exit_code, 0);
  CommandResult ok = ctl({"audit", "verify"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("audit chain ok: 4 records"));

  b.Stop();
  const std::string db = b.Path("broker.db");
  CommandResult sql = RunCommand({"/usr/bin/sqlite3", db,
                                  "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "
                                  "UPDATE audit SET actor = 'CN=someone-else' WHERE id = 2;"});
  ASSERT_EQ(sql.exit_code, 0) << sql.output;
  ASSERT_THAT(b.Resume(), IsOk());
  CommandResult changed = ctl({"audit", "verify"});
  EXPECT_EQ(changed.exit_code, 1) << changed.output;
  EXPECT_THAT(changed.output, HasSubstr("audit chain broken at record 2: contents changed"));
  CommandResult json = ctl({"--json", "audit", "verify"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_THAT(json.output, HasSubstr("\"first_bad_id\":\"2\""));

  b.Stop();
  sql = RunCommand({"/usr/bin/sqlite3", db, "DELETE FROM audit WHERE id = 2;"});
  ASSERT_EQ(sql.exit_code, 0) << sql.output;
  ASSERT_THAT(b.Resume(), IsOk());
  CommandResult removed = ctl({"audit", "verify"});
  EXPECT_EQ(removed.exit_code, 1);
  EXPECT_THAT(removed.output, HasSubstr("record 3: record 2 before it was removed"));
}

// More matching records than fit in one page (keybrokerctl asks for 1,000 at a time): --all
// lists every one, newest first, each once; --limit stops inside a later page; --before-id
// continues below a record.
TEST_F(OperatorPlaneTest, AuditListPagesThroughAnyNumberOfRecords) {
  ASSERT_EQ(Ctl({"key", "create", "page-disk"}).exit_code, 0);
  auto admin = broker_->AdminStub("operator");
  constexpr int kCalls = 2345;
  for (int i = 0; i < kCalls; ++i) {
    v1::DisableKeyRequest r;
    r.set_key_id("page-disk");
    v1::KeyMetadata meta;
    grpc::ClientContext ctx;
    ASSERT_TRUE(admin->DisableKey(&ctx, r, &meta).ok()) << i;
  }
  auto ids = [](const std::string& table) {
    std::vector<uint64_t> out;
    std::istringstream lines(table);
    std::string line;
    std::getline(lines, line);  // the header
    while (std::getline(lines, line)) out.push_back(std::stoull(line.substr(0, line.find(' '))));
    return out;
  };
  CommandResult all = Ctl({"audit", "list", "--all", "--key-id", "page-disk"}, "auditor");
  ASSERT_EQ(all.exit_code, 0) << all.output.substr(0, 500);
  std::vector<uint64_t> listed = ids(all.output);
  ASSERT_EQ(listed.size(), kCalls + 1u);  // and create_key
  for (size_t i = 1; i < listed.size(); ++i) ASSERT_LT(listed[i], listed[i - 1]) << i;
  CommandResult limited =
      Ctl({"audit", "list", "--limit", "1500", "--key-id", "page-disk"}, "auditor");
  ASSERT_EQ(limited.exit_code, 0) << limited.output.substr(0, 500);
  EXPECT_EQ(ids(limited.output), std::vector<uint64_t>(listed.begin(), listed.begin() + 1500));
  CommandResult below = Ctl({"audit", "list", "--limit", "3", "--key-id", "page-disk",
                             "--before-id", absl::StrCat(listed[1000])},
                            "auditor");
  ASSERT_EQ(below.exit_code, 0) << below.output;
  EXPECT_EQ(ids(below.output), std::vector<uint64_t>(listed.begin() + 1001, listed.begin() + 1004));
}

}  // namespace
}  // namespace kb
