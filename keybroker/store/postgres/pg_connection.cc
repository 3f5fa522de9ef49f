#include "keybroker/store/postgres/pg_connection.h"

#include <poll.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& dsn, const std::vector<std::pair<std::string, std::string>>& defaults) {
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
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::broken() {
  if (failed_ || PQstatus(conn_) != CONNECTION_OK) return true;
  // An idle connection has nothing to read; something readable is the server's goodbye (an
  // EOF, or a FATAL message before it closed).
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (PQconsumeInput(conn_) == 0) return failed_ = true;
  if (PQstatus(conn_) != CONNECTION_OK) return failed_ = true;
  while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
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

absl::StatusOr<PgResult> PgConnection::Check(PGresult* raw, absl::string_view sql) {
  PgResult res(raw);
  const ExecStatusType st = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
  // Statements are fixed texts of ours; name one by its first words (never parameter values).
  absl::string_view head = sql.substr(0, sql.find_first_of("(\n"));
  if (head.size() > 40) head = head.substr(0, 40);
  return ErrorOf(raw, absl::StripTrailingAsciiWhitespace(head));
}

absl::StatusOr<std::string> PgConnection::Prepared(absl::string_view sql) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = absl::StrCat("kb", prepared_.size() + 1);
  const std::string text(sql);
  RETURN_IF_ERROR(Check(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr), sql).status());
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
  ASSIGN_OR_RETURN(const std::string name, Prepared(sql));
  const RawParams raw(params);
  return Check(PQexecPrepared(conn_, name.c_str(), raw.size(), raw.values.data(),
                              raw.lengths.data(), raw.formats.data(), /*resultFormat=*/0),
               sql);
}

absl::Status PgConnection::Command(absl::string_view sql) { return Script(sql).status(); }

absl::StatusOr<PgResult> PgConnection::Script(absl::string_view sql) {
  return Check(PQexec(conn_, std::string(sql).c_str()), sql);
}

PgTransaction::~PgTransaction() {
  if (begin_.ok() && !done_ && !conn_.broken()) conn_.Command("ROLLBACK").IgnoreError();
}

absl::Status PgTransaction::Commit() {
  done_ = true;
  return conn_.Command("COMMIT");
}

}  // namespace kb
