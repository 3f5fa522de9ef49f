#include "bench/store_floor.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/load.h"
#include "common/crypto.h"
#include "common/request_deadline.h"
#include "common/status_macros.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// One release's work on thread `thread`.
using Release = std::function<absl::Status(int thread)>;

// What keybrokerd asks of the store for one allowed release of "bench" by the machine whose
// attestation key is `ak_name` (keybroker/service/attestation.cc and release_service.cc), in
// the same order, with an audit record of the same size.
absl::Status ReleaseOnce(const BrokerStores& s, const std::string& ak_name) {
  const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
  ASSIGN_OR_RETURN(Challenge c, s.challenges->New("bench", absl::Now() + absl::Seconds(60)));
  RETURN_IF_ERROR(s.challenges->Put(c, absl::Now()));
  ASSIGN_OR_RETURN(
      ReleaseRecords r,
      s.release_reads->Read({.challenge_id = c.id, .key_id = "bench", .attestation_key = ak_name}));
  if (!r.challenge.has_value() || r.machine.empty() || r.denied.has_value() || !r.key.has_value() ||
      !r.version.has_value() || r.may_hold_offline_grant) {
    return absl::InternalError("the store does not answer as for an allowed release");
  }
  ASSIGN_OR_RETURN(SecretBytes material, r.material());
  AuditRecord record;
  record.time = absl::Now();
  record.actor = absl::StrCat("machine:", r.machine);
  record.action = "release";
  record.key_id = "bench";
  record.key_version = r.version->version;
  record.decision = "allow";
  record.reason = absl::StrCat("policy v", r.key->policy_version, " rule 0");
  record.evidence_digest = std::string(64, '0');
  record.policy_version = r.key->policy_version;
  return s.audit->Append(record);
}

struct Counts {
  std::atomic<int> releases{0}, errors{0};
};

// `release(thread)` from `start` until `end`, the i-th starting no earlier than
// start + i * interval.
void Paced(const Release& release, int thread, absl::Time start, absl::Time end,
           absl::Duration interval, Counts& counts) {
  for (int i = 0;; ++i) {
    const absl::Time at = start + i * interval;
    if (at >= end) return;
    absl::SleepFor(at - absl::Now());
    if (release(thread).ok()) {
      ++counts.releases;
    } else {
      ++counts.errors;
    }
  }
}

// Releases and errors of `seconds` of paced releases on `threads` threads.
std::pair<int, int> RunThreads(const Release& release, int threads, double rate, double seconds) {
  Counts counts;
  const absl::Duration interval = absl::Seconds(threads / rate);
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  std::vector<std::thread> running;
  for (int i = 0; i < threads; ++i) {
    // Staggered, as independent guests would be.
    const absl::Time mine = start + interval * (static_cast<double>(i) / threads);
    running.emplace_back([&, i, mine] { Paced(release, i, mine, end, interval, counts); });
  }
  for (std::thread& t : running) t.join();
  return {counts.releases.load(), counts.errors.load()};
}

StoreFloorFigures RunPaced(const Release& release, int threads, double rate, double seconds,
                           const std::function<double()>& server_cpu) {
  StoreFloorFigures f;
  if (threads == 0 || rate <= 0) return f;
  const int warm_up = RunThreads(release, threads, rate, 1).first;  // connections, caches
  // The server's CPU is read outside the client's window: reading it (/proc) costs this process.
  const double server_before = server_cpu();
  const double client_before = CpuSeconds(getpid());
  const absl::Time start = absl::Now();
  const auto [done, errors] = RunThreads(release, threads, rate, seconds);
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);  // longer if it fell behind
  const double client_after = CpuSeconds(getpid());
  const double server_after = server_cpu();
  f.errors = errors;
  f.all_releases = warm_up + done;
  f.releases_per_second = done / elapsed;
  if (done == 0) return f;
  f.client_us = (client_after - client_before) * 1e6 / done;
  f.server_us = (server_after - server_before) * 1e6 / done;
  return f;
}

struct PgFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, PgFinish>;

// Runs `sql` (no result rows) on `conn`: whether it succeeded.
bool Run(PGconn* conn, const char* sql) {
  PGresult* r = PQexec(conn, sql);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  return ok;
}

// Runs the statement prepared as "release" on `conn` with `values` (text, or binary where
// `formats` says 1): its result when it succeeded, else why not.
absl::StatusOr<std::unique_ptr<PGresult, void (*)(PGresult*)>> ExecRelease(
    PGconn* conn, const std::vector<std::string>& values, const std::vector<int>& formats) {
  std::vector<const char*> pointers;
  std::vector<int> lengths;
  for (const std::string& v : values) {
    pointers.push_back(v.data());
    lengths.push_back(static_cast<int>(v.size()));
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> r(
      PQexecPrepared(conn, "release", static_cast<int>(values.size()), pointers.data(),
                     lengths.data(), formats.data(), 0),
      PQclear);
  const ExecStatusType status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return absl::UnavailableError(PQerrorMessage(conn));
  }
  return r;
}

// A new challenge id: 64 hexadecimal characters, as unique as keybrokerd's.
absl::StatusOr<std::string> NewChallengeId() {
  ASSIGN_OR_RETURN(const std::string random, RandomBytes(32));
  return HexEncode(random);
}

// One release of the bare floor on `conn`: the INSERT.
absl::Status BareRelease(PGconn* conn, const std::string& record) {
  ASSIGN_OR_RETURN(const std::string challenge, NewChallengeId());
  return ExecRelease(conn, {challenge, record}, {0, 1}).status();
}

// The one statement of the one-statement floor: the challenge's spend as keybrokerd's store
// writes it, then, only if it was spent and the state version (one row of floor_state) is the
// one the caller read, the record appended to the audit chain by kb_audit_append.
std::string OneStatement() {
  return absl::StrCat(
      "WITH s AS (", SpendChallengeSql(1, 2),
      " RETURNING id) SELECT a.record_prev, a.record_hash FROM s CROSS JOIN LATERAL "
      "kb_audit_append(ARRAY[$3::BIGINT], ARRAY[$4::TEXT], ARRAY['release'], ARRAY['bench'], "
      "ARRAY[1::BIGINT], ARRAY['allow'], ARRAY[$5::TEXT], ARRAY[$6::TEXT], ARRAY[1::BIGINT], "
      "ARRAY[$7::BYTEA], $8::TEXT) a WHERE (SELECT version FROM floor_state) = $9::BIGINT");
}

// One release of the one-statement floor on `conn` for the machine of thread `thread`: an
// allow record of the size ReleaseOnce appends, linked into the chain and its hash checked as
// PgAuditLog checks it.
absl::Status OneStatementRelease(PGconn* conn, int thread) {
  ASSIGN_OR_RETURN(const std::string challenge, NewChallengeId());
  AuditRecord record;
  record.time = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  record.actor = absl::StrCat("machine:floor-", thread);
  record.action = "release";
  record.key_id = "bench";
  record.key_version = 1;
  record.decision = "allow";
  record.reason = "policy v1 rule 0";
  record.evidence_digest = std::string(64, '0');
  record.policy_version = 1;
  ASSIGN_OR_RETURN(
      auto r, ExecRelease(conn,
                          {challenge, absl::StrCat(absl::ToUnixMillis(absl::Now()) + 60'000),
                           absl::StrCat(absl::ToUnixMillis(record.time)), record.actor,
                           record.reason, record.evidence_digest, AuditRecordHashPrefix(record),
                           std::string(kAuditGenesisHash), "1"},
                          {0, 0, 0, 0, 0, 0, 1, 0, 0}));
  if (PQntuples(r.get()) != 1) return absl::InternalError("the statement appended no record");
  record.prev_hash = PQgetvalue(r.get(), 0, 0);
  if (AuditRecordHash(record) != PQgetvalue(r.get(), 0, 1)) {
    return absl::InternalError("kb_audit_append's hash does not match the record");
  }
  return absl::OkStatus();
}

// A kept-open connection to `dsn` per thread, `statement` prepared on each as "release", after
// `setup` on the first. Empty, with a message naming `floor`, when one cannot be made.
std::vector<Conn> PreparedConnections(const char* floor, const std::string& dsn, int threads,
                                      const char* setup, const std::string& statement) {
  std::vector<Conn> conns;
  for (int i = 0; i < threads; ++i) {
    Conn c(PQconnectdb(dsn.c_str()));
    bool ok = PQstatus(c.get()) == CONNECTION_OK;
    ok = ok && (i > 0 || Run(c.get(), setup));
    PGresult* r = ok ? PQprepare(c.get(), "release", statement.c_str(), 0, nullptr) : nullptr;
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      std::fprintf(stderr, "%s: %s\n", floor, PQerrorMessage(c.get()));
      return {};
    }
    conns.push_back(std::move(c));
  }
  return conns;
}

}  // namespace

StoreFloorFigures RunStoreFloor(const BrokerStores& stores,
                                const std::vector<std::string>& ak_names, double rate,
                                double seconds, const std::function<double()>& server_cpu) {
  return RunPaced([&](int thread) { return ReleaseOnce(stores, ak_names[thread]); },
                  static_cast<int>(ak_names.size()), rate, seconds, server_cpu);
}

StoreFloorFigures RunBarePostgresFloor(const std::string& dsn, int threads, double rate,
                                       double seconds, const std::function<double()>& server_cpu) {
  const std::vector<Conn> conns = PreparedConnections(
      "bare PostgreSQL floor", dsn, threads,
      "CREATE TABLE IF NOT EXISTS bare_floor (challenge TEXT PRIMARY KEY, record BYTEA NOT NULL)",
      "INSERT INTO bare_floor VALUES ($1, $2)");
  if (conns.empty()) return {};
  const std::string record(300, 'r');
  return RunPaced([&](int thread) { return BareRelease(conns[thread].get(), record); }, threads,
                  rate, seconds, server_cpu);
}

StoreFloorFigures RunOneStatementFloor(const std::string& dsn, int threads, double rate,
                                       double seconds, const std::function<double()>& server_cpu) {
  const std::vector<Conn> conns = PreparedConnections(
      "one-statement PostgreSQL floor", dsn, threads,
      "CREATE TABLE IF NOT EXISTS floor_state (version BIGINT NOT NULL); INSERT INTO floor_state "
      "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM floor_state)",
      OneStatement());
  if (conns.empty()) return {};
  return RunPaced([&](int thread) { return OneStatementRelease(conns[thread].get(), thread); },
                  threads, rate, seconds, server_cpu);
}

}  // namespace kb
