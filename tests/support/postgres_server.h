#ifndef KB_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define KB_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/broker_process.h"

namespace kb {

// A real PostgreSQL server for one test: initdb, pg_ctl and psql from Debian's postgresql
// package, run as the `postgres` user (they refuse root) on a data directory and a Unix socket
// directory in a fresh temporary directory; no TCP listener. The database "keybroker" exists.
// The destructor stops the server (immediate mode) and removes the directory.
class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  // A streaming-replication standby of `primary` (pg_basebackup -R), in its own directory, made
  // synchronous: the primary acknowledges a commit only once this standby has it.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> StartStandbyOf(PostgresServer& primary);
  ~PostgresServer();

  // pg_ctl promote: the standby becomes a primary.
  absl::Status Promote();
  const std::string& socket_dir() const { return dir_; }
  // The postmaster's process id (postmaster.pid), or -1 when the server is not running.
  pid_t postmaster_pid() const;

  // A libpq connection string for the database "keybroker" as user postgres.
  std::string Dsn() const;
  // The same as the config's store member (JSON, no braces).
  std::string StoreConfigJson() const;

  // pg_ctl stop -m fast (`immediate`: -m immediate, as a crash) and start again.
  absl::Status Stop(bool immediate = false);
  absl::Status Restart();
  // Runs `sql` with psql on the database; exit code and output.
  CommandResult Psql(const std::string& sql) const;
  // Sets synchronous_standby_names (a standby that never connects makes every commit wait)
  // and waits until commits use it (the checkpointer applies it, some time after the reload;
  // a CHECKPOINT waits for that); an error if new sessions do not see it within 5 s.
  absl::Status SetSynchronousStandby(const std::string& names) const;

 private:
  explicit PostgresServer(std::string dir) : dir_(std::move(dir)) {}
  CommandResult AsPostgres(std::vector<std::string> argv) const;
  static absl::StatusOr<std::unique_ptr<PostgresServer>> MakeDir();
  std::string dir_;
  bool running_ = false;
};

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_POSTGRES_SERVER_H_
