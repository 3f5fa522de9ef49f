// A changed or wrong KEK stops keybrokerd at start, and --check-config finds it, naming the KEK
// the database's keys were written with (real keybrokerd, real files).
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(KekCheckTest, AChangedKekStopsTheBrokerAndCheckConfigSaysWhich) {
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  const std::string kek_path = (*broker)->Path("kek");
  auto original = ReadFile(kek_path);
  ASSERT_THAT(original, IsOk());
  (*broker)->Stop();
  ASSERT_THAT(WriteFileAtomic(kek_path, *RandomBytes(32), 0600), IsOk());

  const std::vector<std::string> check = {BinaryPath("keybrokerd"), "--config",
                                          (*broker)->Path("config.json"), "--check-config"};
  CommandResult r = RunCommand(check);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output,
              AllOf(HasSubstr(absl::StrCat("the configured KEK (kek_file ", kek_path)),
                    HasSubstr("is not the one this database's keys were written with (kek_file "),
                    HasSubstr("fingerprint ")));
  EXPECT_THAT((*broker)->Resume(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is not the one")));

  ASSERT_THAT(WriteFileAtomic(kek_path, *original, 0600), IsOk());
  r = RunCommand(check);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("config OK"));
  EXPECT_THAT((*broker)->Resume(), IsOk());
}

}  // namespace
}  // namespace kb
