// The flag spelling shared by keybrokerctl, kbunlock and verify-evidence (common/flags.h).
#include "common/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

TEST(FlagsTest, ValueAsNextArgumentOrAfterEquals) {
  const std::vector<std::string> args = {"--key-id", "root", "--device=/dev/vda2", "--test"};
  size_t pos = 0;
  EXPECT_EQ(FlagName(args[0]), "--key-id");
  EXPECT_THAT(TakeFlagValue(args, &pos, FlagKind::kValued), IsOkAndHolds("root"));
  EXPECT_EQ(pos, 2u);
  EXPECT_EQ(FlagName(args[2]), "--device");
  EXPECT_THAT(TakeFlagValue(args, &pos, FlagKind::kValued), IsOkAndHolds("/dev/vda2"));
  EXPECT_EQ(pos, 3u);
  EXPECT_THAT(TakeFlagValue(args, &pos, FlagKind::kSwitch), IsOkAndHolds(""));
  EXPECT_EQ(pos, 4u);
}

TEST(FlagsTest, MissingValueAndValuedSwitchAreNamed) {
  const std::vector<std::string> args = {"--key-id"};
  size_t pos = 0;
  EXPECT_THAT(TakeFlagValue(args, &pos, FlagKind::kValued),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--key-id needs a value")));
  const std::vector<std::string> sw = {"--test=yes"};
  pos = 0;
  EXPECT_THAT(TakeFlagValue(sw, &pos, FlagKind::kSwitch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--test takes no value")));
}

TEST(FlagsTest, AnEmptyValueAfterEqualsIsKept) {
  const std::vector<std::string> args = {"--name="};
  size_t pos = 0;
  EXPECT_THAT(TakeFlagValue(args, &pos, FlagKind::kValued), IsOkAndHolds(""));
}

}  // namespace
}  // namespace kb
