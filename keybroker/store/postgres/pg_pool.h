#ifndef KB_KEYBROKER_STORE_POSTGRES_PG_POOL_H_
#define KB_KEYBROKER_STORE_POSTGRES_PG_POOL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keybroker/store/postgres/pg_connection.h"

namespace kb {

// A bounded pool of connections to one PostgreSQL database (or the primary of a multi-host
// DSN). Connections are made on demand, checked for a closed server side before each use and
// replaced when broken, so the broker recovers by itself when the database returns.
// Thread-safe. Made by Create() only: a thread still making a connection holds the pool, so
// the pool ends with the last of them (a shutdown does not wait for them).
class PgPool : public std::enable_shared_from_this<PgPool> {
 public:
  struct Options {
    std::string dsn;
    int size = 8;
    absl::Duration acquire_timeout = absl::Seconds(5);
    // How long one exchange with the server may go unanswered (PgConnection::Connect), above
    // the statement_timeout (15 s) that the server enforces itself while it can answer.
    absl::Duration reply_timeout = absl::Seconds(20);
    // Every connection runs SET synchronous_commit = off: its commits return before the WAL
    // is flushed (for writes that may be lost in a crash).
    bool asynchronous_commit = false;
  };
  class Lease;

  // A pool for `options.dsn`: INVALID_ARGUMENT when the DSN does not parse or holds a password
  // (use passfile=); the first connection is made by the first Acquire().
  static absl::StatusOr<std::shared_ptr<PgPool>> Create(Options options);

  // A connection for one operation. UNAVAILABLE when every connection stays busy for
  // acquire_timeout (or until the request's deadline, common/request_deadline.h, when that
  // comes first), when the database cannot be reached (libpq's connect_timeout, per host of
  // the DSN), or when a new connection is not made by the request's deadline: it is then
  // still made, on a thread of its own, and joins the idle ones.
  absl::StatusOr<Lease> Acquire();

  // The DSN for messages: its hosts, ports and database, nothing else.
  const std::string& description() const { return description_; }

 private:
  PgPool(Options options, std::string description, std::string setup)
      : options_(std::move(options)),
        description_(std::move(description)),
        setup_(std::move(setup)) {}
  struct Opening;
  // A new connection for a place already counted in in_use_ (given back if it fails), made on
  // a thread of its own; the caller waits for it until its request's deadline.
  absl::StatusOr<Lease> Open();
  // Connects and runs the setup statements (blocking, bounded by libpq's timeouts).
  absl::StatusOr<std::unique_ptr<PgConnection>> Connect();
  // Hands `conn` to the caller waiting in `opening`, or, when it left, to the idle ones.
  void Finish(Opening& opening, absl::StatusOr<std::unique_ptr<PgConnection>> conn);
  void Release(std::unique_ptr<PgConnection> conn);
  void GiveBack();  // a place of in_use_ whose connection was not made

  const Options options_;
  const std::string description_;
  const std::string setup_;  // run on each new connection (SET statements; may be empty)
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  int in_use_ = 0;                                   // guarded by mu_ (connections out or opening)
};

// A connection held by one user; returned to the pool (or closed, when broken) on destruction.
class PgPool::Lease {
 public:
  Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (conn_) pool_->Release(std::move(conn_));
  }
  PgConnection& operator*() { return *conn_; }
  PgConnection* operator->() { return conn_.get(); }

 private:
  PgPool* pool_;
  std::unique_ptr<PgConnection> conn_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_POSTGRES_PG_POOL_H_
