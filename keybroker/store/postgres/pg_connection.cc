#include "keybroker/store/postgres/pg_connection.h"

#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/request_deadline.h"
#include "common/status_macros.h"

namespace kb {

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(res_.get(), row, col),
                     static_cast<size_t>(PQgetlength(res_.get(), row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  int64_t v = 0;
  return absl::SimpleAtoi(PQgetvalue(res_.get(), row, col), &v) ? v : 0;
}

std::string PgResult::Bytes(int row, int col) const {
  size_t len = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(res_.get(), row, col)), &len);
  if (raw == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(raw), len);
  PQfreemem(raw);
  return out;
}

int64_t PgResult::affected() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(res_.get()), &n) ? n : 0;
}

absl::StatusCode PgStatusCode(absl::string_view sqlstate) {
  if (sqlstate == "23505") return absl::StatusCode::kAlreadyExists;
  if (sqlstate == "40001" || sqlstate == "40P01") return absl::StatusCode::kAborted;
  // Connection exceptions, a server shutting down or starting, a standby that cannot write
  // (after a failover, until target_session_attrs finds the new primary), and too many clients.
  if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P") ||
      sqlstate == "25006" || sqlstate == "53300") {
    return absl::StatusCode::kUnavailable;
  }
  if (sqlstate == "57014") return absl::StatusCode::kDeadlineExceeded;  // statement_timeout
  return absl::StatusCode::kInternal;
}

namespace {

void LogServerNotice(void*, const char* message) {
  LogWarning("PostgreSQL: %s",
             absl::StripTrailingAsciiWhitespace(absl::string_view(message).substr(0, 400)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& dsn, const std::vector<std::pair<std::string, std::string>>& defaults,
    absl::Duration reply_timeout) {
  // The DSN comes last, expanded in place, so that its own settings override the defaults.
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : defaults) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back("dbname");
  values.push_back(dsn.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn)));
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", why));
  }
  // The server's notices, warnings and the errors it sends while no statement runs (a FATAL
  // before it closes an idle connection) go to the log as our lines, escaped, instead of to
  // stderr as libpq prints them.
  PQsetNoticeProcessor(conn, LogServerNotice, nullptr);
  // Sends never block: Await() bounds every exchange by reply_timeout.
  if (PQsetnonblocking(conn, 1) != 0) {
    PQfinish(conn);
    return absl::InternalError("libpq: cannot set the connection non-blocking");
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn, reply_timeout));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::broken() {
  if (failed_ || PQstatus(conn_) != CONNECTION_OK) return true;
  // An idle connection has nothing to read; something readable is the server's goodbye (an
  // EOF, or a FATAL message before it closed). libpq reads the message and stops, so the EOF
  // after it is read by a second round: a server restarted with a fast shutdown fails no call
  // on the connection it closed.
  for (int round = 0; round < 3; ++round) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if (PQconsumeInput(conn_) == 0) return failed_ = true;
    if (PQstatus(conn_) != CONNECTION_OK) return failed_ = true;
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  }
  return false;
}

absl::Status PgConnection::ErrorOf(const PGresult* res, absl::string_view what) {
  const char* state = res == nullptr ? nullptr : PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = res == nullptr ? nullptr : PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (PQstatus(conn_) != CONNECTION_OK || state == nullptr) {
    failed_ = true;
    std::string why(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn_)));
    return absl::UnavailableError(absl::StrCat("PostgreSQL: ", what, ": ", why));
  }
  absl::StatusCode code = PgStatusCode(state);
  if (code == absl::StatusCode::kUnavailable) failed_ = true;
  return absl::Status(code, absl::StrCat("PostgreSQL: ", what, ": ", primary ? primary : "",
                                         " (SQLSTATE ", state, ")"));
}

namespace {

// Statements are fixed texts of ours; one is named by its first words (never parameter values).
absl::string_view Head(absl::string_view sql) {
  sql = absl::StripLeadingAsciiWhitespace(sql);  // the schema's texts start on a new line
  absl::string_view head = sql.substr(0, sql.find_first_of("(\n"));
  if (head.size() > 40) head = head.substr(0, 40);
  return absl::StripTrailingAsciiWhitespace(head);
}

bool Failed(const PGresult* res) {
  const ExecStatusType st = PQresultStatus(res);
  return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
}

// Polls `fd` for `events` until `deadline`: false once it passed. A poll error counts as ready,
// so that libpq's next call reports the socket's failure.
bool WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // Rounded up: never back before the deadline.
    const int64_t left_ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 60'000)));
    if (r > 0 || (r < 0 && errno != EINTR)) return true;
  }
}

}  // namespace

absl::StatusOr<PgResult> PgConnection::Check(PGresult* raw, absl::string_view sql) {
  PgResult res(raw);
  if (raw != nullptr && !Failed(raw)) return res;
  return ErrorOf(raw, Head(sql));
}

absl::Status PgConnection::TimeLeft(absl::string_view sql) const {
  if (RequestDeadline::Current() > absl::Now()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("PostgreSQL: ", Head(sql), ": not sent: the request's deadline has passed"));
}

absl::Status PgConnection::NoAnswer(absl::string_view sql, absl::Time bound) {
  failed_ = true;  // a reply may still come: the connection is not reused
  CancelOnTheServer();
  const std::string by = bound == RequestDeadline::Current()
                             ? std::string("before the request's deadline")
                             : absl::StrCat("within ", absl::FormatDuration(reply_timeout_));
  return absl::UnavailableError(absl::StrCat("PostgreSQL: ", Head(sql), ": no answer ", by));
}

void PgConnection::CancelOnTheServer() {
  // At most this many cancel requests in flight per process: on a path that swallows packets
  // each can take as long as the kernel's TCP connect timeout.
  static std::atomic<int> in_flight{0};
  PGcancel* cancel = PQgetCancel(conn_);
  if (cancel == nullptr) return;
  if (in_flight.fetch_add(1) >= 4) {
    in_flight.fetch_sub(1);
    PQfreeCancel(cancel);
    return;
  }
  // PQcancel connects without a time limit: on a thread of its own, never the caller's.
  std::thread([cancel] {
    char why[256];
    (void)PQcancel(cancel, why, sizeof(why));
    PQfreeCancel(cancel);
    in_flight.fetch_sub(1);
  }).detach();
}

bool PgConnection::BufferedInTls() {
  auto* ssl = static_cast<SSL*>(PQsslStruct(conn_, "OpenSSL"));
  return ssl != nullptr && SSL_pending(ssl) > 0;
}

absl::StatusOr<PgResult> PgConnection::Await(bool sent, absl::string_view sql) {
  if (!sent) return Check(nullptr, sql);
  const absl::Time deadline = RequestDeadline::Bound(absl::Now(), reply_timeout_);
  const int fd = PQsocket(conn_);
  for (int f; (f = PQflush(conn_)) != 0;) {  // what libpq could not send yet
    if (f < 0) return Check(nullptr, sql);
    if (!WaitFor(fd, POLLIN | POLLOUT, deadline)) return NoAnswer(sql, deadline);
    if (PQconsumeInput(conn_) == 0) return Check(nullptr, sql);
  }
  // As PQexec: the last result, or the first error.
  std::unique_ptr<PGresult, void (*)(PGresult*)> kept(nullptr, &PQclear);
  for (;;) {
    while (PQisBusy(conn_)) {
      // Over TLS, part of a record can wait inside OpenSSL with the socket empty: read it
      // before polling, as libpq's own blocking wait does.
      if (!BufferedInTls() && !WaitFor(fd, POLLIN, deadline)) return NoAnswer(sql, deadline);
      if (PQconsumeInput(conn_) == 0) return Check(nullptr, sql);
    }
    PGresult* next = PQgetResult(conn_);
    if (next == nullptr) break;
    if (kept != nullptr && Failed(kept.get())) {
      PQclear(next);
    } else {
      kept.reset(next);
    }
  }
  return Check(kept.release(), sql);
}

absl::StatusOr<std::string> PgConnection::Prepared(absl::string_view sql) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = absl::StrCat("kb", prepared_.size() + 1);
  const std::string text(sql);
  RETURN_IF_ERROR(
      Await(PQsendPrepare(conn_, name.c_str(), text.c_str(), 0, nullptr) == 1, sql).status());
  prepared_.emplace(text, name);
  return name;
}

namespace {

// libpq's view of `params`: pointers into them, valid while they live.
struct RawParams {
  explicit RawParams(PgParams params) {
    for (const PgParam& p : params) {
      values.push_back(p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.format);
    }
  }
  int size() const { return static_cast<int>(values.size()); }
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
};

}  // namespace

absl::StatusOr<PgResult> PgConnection::Exec(absl::string_view sql, PgParams params) {
  RETURN_IF_ERROR(TimeLeft(sql));
  ASSIGN_OR_RETURN(const std::string name, Prepared(sql));
  const RawParams raw(params);
  return Await(PQsendQueryPrepared(conn_, name.c_str(), raw.size(), raw.values.data(),
                                   raw.lengths.data(), raw.formats.data(),
                                   /*resultFormat=*/0) == 1,
               sql);
}

absl::Status PgConnection::Command(absl::string_view sql) { return Script(sql).status(); }

absl::StatusOr<PgResult> PgConnection::Script(absl::string_view sql) {
  RETURN_IF_ERROR(TimeLeft(sql));
  return Await(PQsendQuery(conn_, std::string(sql).c_str()) == 1, sql);
}

PgTransaction::~PgTransaction() {
  if (begin_.ok() && !done_ && !conn_.broken()) {
    // Past a request's deadline too, so that the connection can go back to the pool.
    const RequestDeadline::Override cleanup(absl::Now() + absl::Seconds(1));
    conn_.Command("ROLLBACK").IgnoreError();
  }
}

absl::Status PgTransaction::Commit() {
  done_ = true;
  return conn_.Command("COMMIT");
}

}  // namespace kb
