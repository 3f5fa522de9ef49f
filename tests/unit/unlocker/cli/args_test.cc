// kbunlock's command line (unlocker/cli/args.h).
#include "unlocker/cli/args.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const std::set<std::string> kValued = {"--device", "--pcrs"};
const std::set<std::string> kSwitches = {"--test"};

TEST(KbunlockArgsTest, FlagsInBothSpellings) {
  auto a =
      ParseArgs({"unlock", "--device", "/dev/vda2", "--pcrs=0,7", "--test"}, kValued, kSwitches);
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->command, "unlock");
  EXPECT_EQ(a->Get("--device"), "/dev/vda2");
  EXPECT_EQ(a->Get("--pcrs"), "0,7");
  EXPECT_TRUE(a->Has("--test"));
  EXPECT_FALSE(a->Has("--name"));
}

TEST(KbunlockArgsTest, BadLinesAreNamed) {
  EXPECT_THAT(ParseArgs({}, kValued, kSwitches), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseArgs({"unlock", "--nope"}, kValued, kSwitches),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown argument '--nope' for 'unlock'")));
  EXPECT_THAT(ParseArgs({"unlock", "--device"}, kValued, kSwitches),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--device needs a value")));
  EXPECT_THAT(ParseArgs({"unlock", "--test=1"}, kValued, kSwitches),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--test takes no value")));
  EXPECT_THAT(ParsePcrList("0,24"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kb
