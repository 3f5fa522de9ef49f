// One keybrokerd per SQLite database: a second one is refused while the first holds the
// database's lock, and a first one killed with SIGKILL leaves no lock behind.

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class SqliteOwnerLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-owner-lock-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/broker.db";
    kek_ = *RandomSecret(32);
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  absl::StatusOr<BrokerStores> Open() {
    KekSet keks;
    keks.current = *AesKek::Create(kek_.Clone(), "test KEK");
    return OpenSqliteStores(path_, std::move(keks));
  }

  std::string dir_, path_;
  SecretBytes kek_;
};

TEST_F(SqliteOwnerLockTest, ASecondBrokerOnTheDatabaseIsRefusedUntilTheFirstCloses) {
  {
    auto first = Open();
    ASSERT_THAT(first, IsOk());
    auto second = Open();
    EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(second.status().message(),
                HasSubstr(absl::StrCat("database ", path_, " is in use by another keybrokerd")));
    EXPECT_THAT(second.status().message(), HasSubstr(path_ + ".lock"));
  }
  EXPECT_THAT(Open(), IsOk());
}

TEST_F(SqliteOwnerLockTest, AnOwnerKilledWithSigkillLeavesNoLockBehind) {
  const std::string lock_path = path_ + ".lock";  // built before fork: the child only syscalls
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) _exit(1);
    (void)!write(ready[1], "1", 1);
    pause();
    _exit(0);
  }
  bool reaped = false;
  absl::Cleanup reap = [&] {  // also when an ASSERT returns early
    if (!reaped) {
      kill(owner, SIGKILL);
      waitpid(owner, nullptr, 0);
    }
    close(ready[0]);
    if (ready[1] >= 0) close(ready[1]);
  };
  close(ready[1]);
  ready[1] = -1;
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the owner process could not take the lock";
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition));
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  reaped = true;
  EXPECT_THAT(Open(), IsOk());
}

TEST_F(SqliteOwnerLockTest, AnInMemoryDatabaseTakesNoLock) {
  KekSet a, b;
  a.current = *AesKek::Create(kek_.Clone(), "a");
  b.current = *AesKek::Create(kek_.Clone(), "b");
  auto first = OpenSqliteStores(":memory:", std::move(a));
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(OpenSqliteStores(":memory:", std::move(b)), IsOk());
}

}  // namespace
}  // namespace kb
