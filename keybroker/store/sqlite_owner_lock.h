#ifndef KB_KEYBROKER_STORE_SQLITE_OWNER_LOCK_H_
#define KB_KEYBROKER_STORE_SQLITE_OWNER_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kb {

// Holds the exclusive flock(2) on `DATABASE.lock` that makes a keybrokerd the only one serving
// from a SQLite database. A second keybrokerd on the same file would keep its own challenges in
// memory (MemoryChallengeStore), so a challenge could be redeemed once at each. The kernel drops
// the lock when the process ends, SIGKILL included, so a crash never leaves it behind. Readers
// such as `keybrokerd migrate-store` do not take it.
class SqliteOwnerLock {
 public:
  // FAILED_PRECONDITION naming the lock file when another process holds it.
  static absl::StatusOr<std::shared_ptr<SqliteOwnerLock>> Acquire(const std::string& database);
  ~SqliteOwnerLock();
  SqliteOwnerLock(const SqliteOwnerLock&) = delete;
  SqliteOwnerLock& operator=(const SqliteOwnerLock&) = delete;

 private:
  explicit SqliteOwnerLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_OWNER_LOCK_H_
