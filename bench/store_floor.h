#ifndef KB_BENCH_STORE_FLOOR_H_
#define KB_BENCH_STORE_FLOOR_H_

#include <functional>
#include <string>
#include <vector>

#include "keybroker/store/broker_stores.h"

namespace kb {

// The store's part of releases alone, in this process, without keybrokerd, gRPC or evidence:
// what separates what a store costs per release from what keybrokerd adds around it.
struct StoreFloorFigures {
  double releases_per_second = 0;  // over the time the releases took (longer if they fell behind)
  // CPU per release of this process: the store's code with libpq or SQLite, and the pacing
  // threads' own, which is the same in every floor (so it cancels in their differences).
  double client_us = 0;
  double server_us = 0;  // CPU per release of the database server (0 for SQLite)
  int errors = 0;
  int all_releases = 0;  // the warm-up's included: what a database's counters see
};

// Every floor below runs one thread per guest, paced so that together they start `rate`
// releases per second (as the guests of a load at that rate would), for `seconds` after one
// second of warm-up. `server_cpu` returns the database server's CPU seconds so far.

// What keybrokerd asks of `stores` for an allowed release of key "bench" without offline grace,
// by the machine of each name in `ak_names` (attestation keys registered for it; a thread each):
// a challenge issued (ChallengeStore New and Put), the release's reads (ReleaseReads::Read,
// which spends it), the key version's material opened under the KEK, and one "allow" record
// appended to the audit (group-committed).
StoreFloorFigures RunStoreFloor(const BrokerStores& stores,
                                const std::vector<std::string>& ak_names, double rate,
                                double seconds, const std::function<double()>& server_cpu);

// A store reduced to one durable statement per release: through libpq alone (a prepared INSERT
// on a kept-open connection per thread), in its own transaction with a synchronous commit, a
// row that spends the release's challenge (a unique 64-character id) and holds its record (300
// bytes), in table `bare_floor` that it creates in `dsn`'s database. No reads: a broker with every
// key, policy and registration cached would need none. Each commit is its own transaction, where
// a store could put the records of concurrent releases in one; PostgreSQL still flushes
// concurrent commits' WAL together. Empty figures (and a message) when it cannot start.
StoreFloorFigures RunBarePostgresFloor(const std::string& dsn, int threads, double rate,
                                       double seconds, const std::function<double()>& server_cpu);

// What the store of a broker that serves a release's reads from memory (every key, policy and
// registration cached in each replica, validated by a state version) would ask of PostgreSQL:
// one statement per release on a kept-open connection per thread, with a synchronous commit,
// that spends the challenge as keybrokerd's store does (spent_challenges) and, only if it was
// spent and the state version (one row of table floor_state, which it creates) is unchanged,
// appends an allow record of ReleaseOnce's size to the audit chain with kb_audit_append, whose
// hash this process checks. `dsn` is a database keybrokerd's schema is in; the records join
// its chain. No batching of concurrent releases' records. Empty figures (and a message) when
// it cannot start.
StoreFloorFigures RunOneStatementFloor(const std::string& dsn, int threads, double rate,
                                       double seconds, const std::function<double()>& server_cpu);

}  // namespace kb

#endif  // KB_BENCH_STORE_FLOOR_H_
