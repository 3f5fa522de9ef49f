// keybrokerd with its KEK in a PKCS#11 token (a real SoftHSM2 token made by the test): keys are
// created and released through the real broker, --create-kek makes a new key in the token, and a
// broker pointed at another key of the token refuses to start and --check-config says which; an
// HSM that stops answering fails releases with UNAVAILABLE in time.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/kek/pkcs11_kek.h"
#include "tests/integration/broker_guest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/integration/release_over_grpc.h"
#include "tests/support/broker_process.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// A SoftHSM2 token labelled `label` holding a KEK labelled `key_label`.
absl::StatusOr<std::unique_ptr<SoftHsmToken>> TokenWithKek(const std::string& label,
                                                           const std::string& key_label) {
  auto token = SoftHsmToken::Create(label);
  if (!token.ok()) return token.status();
  if (absl::Status s = Pkcs11Kek::Generate({SoftHsmToken::kModule, label, key_label},
                                           SecretBytes::FromString(SoftHsmToken::kPin));
      !s.ok()) {
    return s;
  }
  return token;
}

TEST(HsmKekBrokerTest, ReleasesUnderAnHsmKekAndRefusesAnotherKeyOfTheToken) {
  auto token = TokenWithKek("kb-broker", "kek-a");
  ASSERT_THAT(token, IsOk());
  BrokerProcess::Options options;
  options.kek_config = (*token)->KekConfigJson("kek-a");
  auto broker = BrokerProcess::Start(options);
  ASSERT_THAT(broker, IsOk());
  auto tpm = Guest(**broker, "hsm-guest", "hsm-disk");
  EXPECT_THAT(ReleaseOverGrpc(**broker, *tpm, "hsm-disk"), IsOk());

  // A second key made by keybrokerd --create-kek, and the broker pointed at it.
  (*broker)->Stop();
  ASSERT_THAT((*broker)->SetKekConfig((*token)->KekConfigJson("kek-b")), IsOk());
  const std::string config = (*broker)->Path("config.json");
  CommandResult create = RunCommand({BinaryPath("keybrokerd"), "--config", config, "--create-kek"});
  EXPECT_EQ(create.exit_code, 0) << create.output;
  EXPECT_THAT(create.output, HasSubstr("created the KEK: pkcs11 token 'kb-broker' key 'kek-b'"));
  create = RunCommand({BinaryPath("keybrokerd"), "--config", config, "--create-kek"});
  EXPECT_EQ(create.exit_code, 1);
  EXPECT_THAT(create.output, HasSubstr("already exists"));

  CommandResult check =
      RunCommand({BinaryPath("keybrokerd"), "--config", config, "--check-config"});
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_THAT(check.output,
              AllOf(HasSubstr("the configured KEK (pkcs11 token 'kb-broker' key 'kek-b'"),
                    HasSubstr("written with (pkcs11 token 'kb-broker' key 'kek-a'")));
  EXPECT_THAT((*broker)->Resume(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is not the one")));

  // Back on the right key: the stored key version opens again after a restart.
  ASSERT_THAT((*broker)->SetKekConfig((*token)->KekConfigJson("kek-a")), IsOk());
  check = RunCommand({BinaryPath("keybrokerd"), "--config", config, "--check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.output;
  ASSERT_THAT((*broker)->Resume(), IsOk());
  EXPECT_THAT(ReleaseOverGrpc(**broker, *tpm, "hsm-disk"), IsOk());
}

TEST(HsmKekBrokerTest, AWrongPinOrAMissingTokenStopsTheBrokerWithTheReason) {
  auto token = SoftHsmToken::Create("kb-pin");
  ASSERT_THAT(token, IsOk());
  ASSERT_THAT(WriteFileAtomic((*token)->pin_file(), "000000\n", 0600), IsOk());
  BrokerProcess::Options options;
  options.kek_config = (*token)->KekConfigJson("kek");
  EXPECT_THAT(BrokerProcess::Start(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("CKR_PIN_INCORRECT"), HasSubstr("pin_file"))));
  ASSERT_THAT(WriteFileAtomic((*token)->pin_file(), "246810\n", 0644), IsOk());
  EXPECT_THAT(BrokerProcess::Start(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("accessible to group or others (mode 644)")));
  ASSERT_THAT(WriteFileAtomic((*token)->pin_file(), "246810\n", 0600), IsOk());
  options.kek_config = absl::StrCat(R"("kek":{"pkcs11":{"module":")", SoftHsmToken::kModule,
                                    R"(","token_label":"gone","key_label":"kek","pin_file":")",
                                    (*token)->pin_file(), R"("}})");
  EXPECT_THAT(
      BrokerProcess::Start(options),
      StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr("no PKCS#11 token labelled 'gone'"),
                                                     HasSubstr("tokens present: 'kb-pin'"))));
}

// An HSM that stops answering in the middle of a release (a network HSM behind a partition, a
// wedged daemon): the release fails with UNAVAILABLE before the guest's deadline, in time for
// the guest to try its next broker, instead of hanging until the guest gives up with
// DEADLINE_EXCEEDED; and releases work again once the HSM answers.
TEST(HsmKekBrokerTest, AnHsmThatStopsAnsweringFailsReleasesInTimeUntilItAnswersAgain) {
  auto token = TokenWithKek("kb-stall", "kek");
  ASSERT_THAT(token, IsOk());
  const std::string stall = (*token)->dir() + "/stall";
  ASSERT_EQ(setenv(SoftHsmToken::kStallFileEnv, stall.c_str(), 1), 0);  // keybrokerd inherits it
  const absl::Cleanup answer_again = [&stall] {
    unlink(stall.c_str());
    unsetenv(SoftHsmToken::kStallFileEnv);
  };
  BrokerProcess::Options options;
  options.kek_config = (*token)->KekConfigJson("kek", SoftHsmToken::StallingModule());
  options.extra_config = R"("metrics_listen":"127.0.0.1:0")";
  auto broker = BrokerProcess::Start(options);
  ASSERT_THAT(broker, IsOk());
  const int metrics_port = MetricsPort(**broker);
  ASSERT_GT(metrics_port, 0);
  auto tpm = Guest(**broker, "stall-guest", "stall-disk");
  EXPECT_THAT(ReleaseOverGrpc(**broker, *tpm, "stall-disk"), IsOk());

  ASSERT_THAT(WriteFileAtomic(stall, "", 0600), IsOk());
  // Not DEADLINE_EXCEEDED: the broker answered before the client's deadline, withholding the
  // reason, which its log gives.
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(ReleaseOverGrpc(**broker, *tpm, "stall-disk", std::chrono::seconds(5)),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("try again or another broker")));
  }
  auto log = ReadFile((*broker)->Path("keybrokerd.log"));
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(*log, HasSubstr("the KEK did not answer before the request's deadline"));
  // What an operator's alert sees: three calls left hanging in the HSM.
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  EXPECT_THAT(metrics, HasSubstr("\nkeybroker_kek_calls_waiting 3\n"));
  EXPECT_THAT(metrics, HasSubstr("\nkeybroker_kek_calls_abandoned_total 3\n"));
  EXPECT_THAT(metrics, HasSubstr("\nkeybroker_kek_calls_refused_total 0\n"));
  // Stopped while those three calls still hang in the token, keybrokerd exits at once and
  // cleanly (it does not wait for them, nor finalize the module under them); started again
  // once the HSM answers, it releases.
  const int status = (*broker)->Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  ASSERT_EQ(unlink(stall.c_str()), 0);
  ASSERT_THAT((*broker)->Resume(), IsOk());
  EXPECT_THAT(ReleaseOverGrpc(**broker, *tpm, "stall-disk"), IsOk());
}

}  // namespace
}  // namespace kb
