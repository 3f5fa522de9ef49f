#include "bench/store_floor.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/load.h"
#include "common/crypto.h"
#include "common/request_deadline.h"
#include "common/status_macros.h"

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

// One release of the bare floor on `conn`: the INSERT prepared as "spend".
absl::Status BareRelease(PGconn* conn, const std::string& record) {
  auto random = RandomBytes(32);
  if (!random.ok()) return random.status();
  const std::string challenge = HexEncode(*random);
  const char* values[] = {challenge.data(), record.data()};
  const int lengths[] = {static_cast<int>(challenge.size()), static_cast<int>(record.size())};
  const int formats[] = {0, 1};
  PGresult* r = PQexecPrepared(conn, "spend", 2, values, lengths, formats, 0);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  return ok ? absl::OkStatus() : absl::UnavailableError(PQerrorMessage(conn));
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
  std::vector<Conn> conns;
  for (int i = 0; i < threads; ++i) {
    Conn c(PQconnectdb(dsn.c_str()));
    bool ok = PQstatus(c.get()) == CONNECTION_OK;
    ok = ok && (i > 0 || Run(c.get(),
                             "CREATE TABLE IF NOT EXISTS bare_floor (challenge TEXT PRIMARY KEY, "
                             "record BYTEA NOT NULL)"));
    PGresult* r =
        ok ? PQprepare(c.get(), "spend", "INSERT INTO bare_floor VALUES ($1, $2)", 2, nullptr)
           : nullptr;
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      std::fprintf(stderr, "bare PostgreSQL floor: %s\n", PQerrorMessage(c.get()));
      return {};
    }
    conns.push_back(std::move(c));
  }
  const std::string record(300, 'r');
  return RunPaced([&](int thread) { return BareRelease(conns[thread].get(), record); }, threads,
                  rate, seconds, server_cpu);
}

}  // namespace kb
