// `keybrokerd --check-config` checks every file the config names and changes nothing (real
// keybrokerd, the PKI of make_pki.sh).
#include <unistd.h>

#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class CheckConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = BrokerProcess::Start();
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
    broker_->Stop();
    config_ = *ReadFile(broker_->Path("config.json"));
  }
  // Runs --check-config on the broker's config with `from` replaced by `to`.
  CommandResult Check(const std::string& from = "", const std::string& to = "") {
    const std::string path = broker_->Path("edited.json");
    const std::string text = from.empty() ? config_ : absl::StrReplaceAll(config_, {{from, to}});
    EXPECT_THAT(WriteFileAtomic(path, text, 0600), IsOk());
    return RunCommand({BinaryPath("keybrokerd"), "--config", path, "--check-config"});
  }
  std::unique_ptr<BrokerProcess> broker_;
  std::string config_;
};

TEST_F(CheckConfigTest, ChangesNothing) {
  const std::string db = *ReadFile(broker_->Path("broker.db"));
  CommandResult r = Check();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("(schema version 7)"));
  EXPECT_EQ(*ReadFile(broker_->Path("broker.db")), db);
  // A database that does not exist yet is not created.
  r = Check(R"("database_path":"broker.db")", R"("database_path":"fresh.db")");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("fresh.db does not exist yet: keybrokerd creates it"));
  EXPECT_NE(access(broker_->Path("fresh.db").c_str(), F_OK), 0);
}

TEST_F(CheckConfigTest, TlsFilesAreCheckedByName) {
  CommandResult r = Check(R"("tls_key_file":"server.key")", R"("tls_key_file":"operator.key")");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is not the private key of the certificate in tls_cert_file"));
  r = Check(R"("operator_ca_file":"operator-ca.pem")", R"("operator_ca_file":"server.key")");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("operator_ca_file"));
  r = Check(R"("tls_cert_file":"server.pem")", R"("tls_cert_file":"missing.pem")");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("missing.pem"));
}

}  // namespace
}  // namespace kb
