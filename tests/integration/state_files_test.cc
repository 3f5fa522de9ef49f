// keybrokerd's state files are its own: the database and its WAL are created 0600, and a
// database directory that others can write is refused (real keybrokerd).
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

int Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(StateFilesTest, DatabaseFilesAreOwnerOnly) {
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  EXPECT_EQ(Mode((*broker)->Path("broker.db")), 0600);
  EXPECT_EQ(Mode((*broker)->Path("broker.db-wal")), 0600);
  // A database an older keybrokerd left readable is made private at the next start.
  (*broker)->Stop();
  ASSERT_EQ(chmod((*broker)->Path("broker.db").c_str(), 0644), 0);
  ASSERT_THAT((*broker)->Resume(), IsOk());
  EXPECT_EQ(Mode((*broker)->Path("broker.db")), 0600);
}

TEST(StateFilesTest, DirectoryWritableByOthersIsRefused) {
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  (*broker)->Stop();
  const std::string dir = (*broker)->dir();
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  CommandResult r = RunCommand(
      {BinaryPath("keybrokerd"), "--config", (*broker)->Path("config.json"), "--check-config"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is writable by others (mode 777)"));
  EXPECT_THAT((*broker)->Resume(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("chmod o-w")));
  ASSERT_EQ(chmod(dir.c_str(), 0700), 0);
  EXPECT_THAT((*broker)->Resume(), IsOk());
}

}  // namespace
}  // namespace kb
