#ifndef KB_KEYBROKER_STORE_POSTGRES_PG_CONNECTION_H_
#define KB_KEYBROKER_STORE_POSTGRES_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace kb {

// One statement parameter: text, an integer or bytes (bytea, sent in binary).
struct PgParam {
  static PgParam Text(absl::string_view v) { return {std::string(v), 0}; }
  static PgParam Int(int64_t v) { return {std::to_string(v), 0}; }
  static PgParam Bytes(absl::string_view v) { return {std::string(v), 1}; }
  std::string value;
  int format;  // 0 text, 1 binary
};
using PgParams = absl::Span<const PgParam>;

// A statement's result (text format). Rows and columns start at 0.
class PgResult {
 public:
  explicit PgResult(PGresult* res) : res_(res, &PQclear) {}
  int rows() const { return PQntuples(res_.get()); }
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  std::string Bytes(int row, int col) const;  // a bytea column
  bool IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
  int64_t affected() const;  // rows an INSERT/UPDATE/DELETE touched

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> res_;
};

// One libpq connection with its prepared statements. Not thread-safe: PgPool hands it to one
// user at a time.
class PgConnection {
 public:
  // Connects with `dsn` (libpq's conninfo) after `defaults` (keyword/value pairs the DSN may
  // override). UNAVAILABLE with libpq's reason when it cannot. Every later exchange that gets no
  // complete answer within `reply_timeout` fails with UNAVAILABLE and breaks the connection:
  // the bound when the server cannot answer at all (a path that swallows packets, a commit
  // waiting for a synchronous standby that is gone), where its statement_timeout does not act.
  // A request deadline (common/request_deadline.h) that comes first bounds the exchange
  // instead, and one already past fails it with UNAVAILABLE before anything is sent.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& dsn, const std::vector<std::pair<std::string, std::string>>& defaults,
      absl::Duration reply_timeout = absl::Seconds(20));
  ~PgConnection();

  // Runs `sql` ($1, $2, ... parameters) as a prepared statement of this connection.
  // UNAVAILABLE when the connection or the server failed (the connection is then broken()),
  // ALREADY_EXISTS on a unique violation, ABORTED on a serialization failure or deadlock,
  // INTERNAL otherwise; messages carry PostgreSQL's primary message, never parameter values.
  absl::StatusOr<PgResult> Exec(absl::string_view sql, PgParams params = {});
  // A command without parameters or results (BEGIN, COMMIT, DDL).
  absl::Status Command(absl::string_view sql);
  // Statements without parameters separated by ';' in one round trip (the simple query
  // protocol); the last one's result, or the first error.
  absl::StatusOr<PgResult> Script(absl::string_view sql);
  // Whether the server closed the connection (checked without a round trip).
  bool broken();
  // Whether no transaction is open (a connection returned mid-transaction is closed).
  bool idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  PGconn* raw() { return conn_; }  // for diagnostics (e.g. PQbackendPID)

 private:
  PgConnection(PGconn* conn, absl::Duration reply_timeout)
      : conn_(conn), reply_timeout_(reply_timeout) {}
  absl::Status ErrorOf(const PGresult* res, absl::string_view what);
  // `raw` as a result, or its error.
  absl::StatusOr<PgResult> Check(PGresult* raw, absl::string_view sql);
  // After a PQsend* call (`sent`: it succeeded): flushes the request and collects its results
  // within reply_timeout_ (or until the request's deadline, when that comes first), as PQexec
  // would (the last result, or the first error).
  absl::StatusOr<PgResult> Await(bool sent, absl::string_view sql);
  // UNAVAILABLE when the request's deadline has passed, before anything is sent.
  absl::Status TimeLeft(absl::string_view sql) const;
  // The exchange got no answer by `bound` (from RequestDeadline::Bound).
  absl::Status NoAnswer(absl::string_view sql, absl::Time bound);
  // Asks the server to cancel what this connection runs (a commit waiting for a standby
  // holds its connection slot and locks until then), without waiting for the answer.
  void CancelOnTheServer();
  // Whether OpenSSL holds bytes of this connection that the socket no longer shows.
  bool BufferedInTls();
  // The name of `sql` prepared on this connection (prepared now if it was not).
  absl::StatusOr<std::string> Prepared(absl::string_view sql);
  PGconn* conn_;
  const absl::Duration reply_timeout_;
  absl::flat_hash_map<std::string, std::string> prepared_;  // SQL -> statement name
  bool failed_ = false;
};

// RAII transaction on a connection: BEGIN, then COMMIT on Commit(), ROLLBACK otherwise.
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& conn) : conn_(conn), begin_(conn.Command("BEGIN")) {}
  ~PgTransaction();
  absl::Status status() const { return begin_; }
  absl::Status Commit();

 private:
  PgConnection& conn_;
  absl::Status begin_;
  bool done_ = false;
};

// Maps a failed result's SQLSTATE to a status code (see PgConnection::Exec).
absl::StatusCode PgStatusCode(absl::string_view sqlstate);

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_POSTGRES_PG_CONNECTION_H_
