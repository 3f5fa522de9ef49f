#include "keybroker/store/postgres/pg_pool.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/request_deadline.h"

namespace kb {
namespace {

// What the DSN may override: a bounded connect, keepalives and a TCP timeout so that a
// database that vanished from the network fails requests instead of hanging them.
const std::vector<std::pair<std::string, std::string>>& ConnectDefaults() {
  static const auto* defaults = new std::vector<std::pair<std::string, std::string>>{
      {"connect_timeout", "3"},  {"keepalives_idle", "10"},     {"keepalives_interval", "3"},
      {"keepalives_count", "3"}, {"tcp_user_timeout", "10000"}, {"application_name", "keybrokerd"},
  };
  return *defaults;
}

// Whether `dsn` may hold a password: a "password" keyword or URI parameter, or a URI whose
// user part (before the last '@') has a ':'. libpq's parse errors quote the DSN's text.
bool MayHoldPassword(absl::string_view dsn) {
  if (absl::StrContains(absl::AsciiStrToLower(dsn), "password")) return true;
  const size_t scheme = dsn.find("://");
  const size_t at = dsn.rfind('@');
  return scheme != absl::string_view::npos && at != absl::string_view::npos && at > scheme &&
         dsn.substr(scheme + 3, at - scheme - 3).find(':') != absl::string_view::npos;
}

// The server-side bound on a statement, set on each new connection unless the DSN's `options`
// set one (a default `options` would be replaced whole by a DSN's own, e.g. a search_path).
constexpr char kStatementTimeout[] = "SET statement_timeout = 15000";

// Parses `dsn` as libpq does; refuses a password in it and describes it for messages.
// `sets_statement_timeout`: whether its `options` set statement_timeout.
absl::StatusOr<std::string> DescribeDsn(const std::string& dsn, bool& sets_statement_timeout) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err != nullptr ? err : "out of memory";
    PQfreemem(err);
    if (MayHoldPassword(dsn)) {
      why =
          "libpq's reason is not shown, as it may quote a password (which belongs in a passfile, "
          "never in the config); expected key=value pairs or a postgresql:// URI with special "
          "characters percent-encoded";
    }
    return absl::InvalidArgumentError(absl::StrCat("store.postgres.dsn does not parse: ", why));
  }
  std::vector<std::string> parts;
  std::string password;  // the keyword that holds one: password, or an SSL key's sslpassword
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string key = o->keyword;
    if (key == "password" || key == "sslpassword") password = key;
    if (key == "options") {
      // -c statement_timeout=..., --statement-timeout=... (PostgreSQL reads '-' as '_').
      std::string options = absl::AsciiStrToLower(o->val);
      std::replace(options.begin(), options.end(), '-', '_');
      sets_statement_timeout = absl::StrContains(options, "statement_timeout");
    }
    if (key == "host" || key == "hostaddr" || key == "port" || key == "dbname" || key == "user") {
      parts.push_back(absl::StrCat(key, "=", o->val));
    }
  }
  PQconninfoFree(opts);
  if (password == "password") {
    return absl::InvalidArgumentError(
        "store.postgres.dsn holds a password: put it in a passfile (passfile=FILE, readable by "
        "its owner only) or use a client certificate, never in the config");
  }
  if (!password.empty()) {
    return absl::InvalidArgumentError(
        "store.postgres.dsn holds sslpassword, the passphrase of the client's key: give "
        "keybrokerd a key file without one (readable by its owner only), never a passphrase in "
        "the config");
  }
  return parts.empty() ? std::string("PostgreSQL (libpq defaults)")
                       : absl::StrCat("PostgreSQL ", absl::StrJoin(parts, " "));
}

}  // namespace

absl::StatusOr<std::shared_ptr<PgPool>> PgPool::Create(Options options) {
  if (options.size < 1) return absl::InvalidArgumentError("pool size must be at least 1");
  bool sets_statement_timeout = false;
  auto description = DescribeDsn(options.dsn, sets_statement_timeout);
  if (!description.ok()) return description.status();
  std::vector<std::string> setup;
  if (!sets_statement_timeout) setup.push_back(kStatementTimeout);
  if (options.asynchronous_commit) setup.push_back("SET synchronous_commit = off");
  return std::shared_ptr<PgPool>(
      new PgPool(std::move(options), *std::move(description), absl::StrJoin(setup, "; ")));
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  // The wait ends at acquire_timeout, or at the request's deadline when that comes first.
  const absl::Time now = absl::Now();
  const absl::Time bound = RequestDeadline::Bound(now, options_.acquire_timeout);
  const bool request_bound = bound < now + options_.acquire_timeout;
  const auto passed = [this] {
    return absl::UnavailableError(absl::StrCat("no connection to ", description_,
                                               " taken: the request's deadline has passed"));
  };
  if (bound <= now) return passed();
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() +
                        absl::ToChronoMilliseconds(std::max(bound - now, absl::ZeroDuration()));
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->broken()) continue;  // the server closed it: make a new one
      ++in_use_;
      return Lease(this, std::move(conn));
    }
    if (in_use_ < options_.size) break;
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        in_use_ >= options_.size) {
      return absl::UnavailableError(absl::StrCat(
          "all ", options_.size, " connections to ", description_, " stayed busy ",
          request_bound ? std::string("until the request's deadline")
                        : absl::StrCat("for ", absl::FormatDuration(options_.acquire_timeout))));
    }
  }
  if (request_bound && absl::Now() >= bound) {  // it passed while this waited for a place
    freed_.notify_one();                        // which the next waiter may take
    return passed();
  }
  ++in_use_;
  lock.unlock();
  return Open();
}

// The hand-over between Open() and the thread that connects.
struct PgPool::Opening {
  absl::Mutex mu;
  std::optional<absl::StatusOr<std::unique_ptr<PgConnection>>> made ABSL_GUARDED_BY(mu);
  bool left ABSL_GUARDED_BY(mu) = false;  // the caller stopped waiting
};

absl::StatusOr<PgPool::Lease> PgPool::Open() {
  // libpq's connect cannot be cut short, and its connect_timeout applies per host of the DSN
  // (so that a dead first host does not stop a failover to the next): it runs on a thread of
  // its own, which the request leaves at its deadline.
  std::shared_ptr<Opening> opening;
  try {
    opening = std::make_shared<Opening>();
    std::thread([pool = shared_from_this(), opening] {
      pool->Finish(*opening, pool->Connect());
    }).detach();
  } catch (const std::exception& e) {  // no thread (or memory) to be had
    GiveBack();
    return absl::UnavailableError(
        absl::StrCat("no connection to ", description_, " made: ", e.what()));
  }
  absl::MutexLock lock(&opening->mu);
  const auto made = [&opening]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(opening->mu) {
    return opening->made.has_value();
  };
  if (!opening->mu.AwaitWithDeadline(absl::Condition(&made), RequestDeadline::Current())) {
    opening->left = true;
    return absl::UnavailableError(
        absl::StrCat("no connection to ", description_,
                     " made before the request's deadline (one is still being made; it joins "
                     "the pool when made)"));
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> conn = *std::move(opening->made);
  if (!conn.ok()) {
    GiveBack();
    return absl::UnavailableError(absl::StrCat(description_, ": ", conn.status().message()));
  }
  return Lease(this, *std::move(conn));
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgPool::Connect() {
  auto conn = PgConnection::Connect(options_.dsn, ConnectDefaults(), options_.reply_timeout);
  if (conn.ok() && !setup_.empty()) {
    // This thread has no request deadline; the setup gets a bound of its own.
    const RequestDeadline::Override setup(absl::Now() + absl::Seconds(2));
    if (absl::Status s = (*conn)->Command(setup_); !s.ok()) return s;
  }
  return conn;
}

void PgPool::Finish(Opening& opening, absl::StatusOr<std::unique_ptr<PgConnection>> conn) {
  {
    absl::MutexLock lock(&opening.mu);
    if (!opening.left) {
      opening.made = std::move(conn);
      return;
    }
  }
  if (conn.ok()) {
    Release(*std::move(conn));
  } else {
    // Its caller was told only that it stopped waiting.
    LogError("a connection to %s made after its request's deadline failed: %s", description_,
             conn.status().message());
    GiveBack();
  }
}

void PgPool::GiveBack() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_use_;
  freed_.notify_one();
}

void PgPool::Release(std::unique_ptr<PgConnection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  --in_use_;
  if (!conn->broken() && conn->idle()) idle_.push_back(std::move(conn));
  freed_.notify_one();
}

}  // namespace kb
