#include "keybroker/store/sqlite_owner_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kb {

absl::StatusOr<std::shared_ptr<SqliteOwnerLock>> SqliteOwnerLock::Acquire(
    const std::string& database) {
  const std::string path = database + ".lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the lock file ", path, ": ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", database, " is in use by another keybrokerd (it holds ", path,
          "); one keybrokerd serves a SQLite database, several need the PostgreSQL store"));
    }
    return absl::FailedPreconditionError(absl::StrCat("cannot lock ", path, ": ", strerror(err)));
  }
  return std::shared_ptr<SqliteOwnerLock>(new SqliteOwnerLock(fd));
}

SqliteOwnerLock::~SqliteOwnerLock() { close(fd_); }

}  // namespace kb
