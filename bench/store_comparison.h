#ifndef KB_BENCH_STORE_COMPARISON_H_
#define KB_BENCH_STORE_COMPARISON_H_

#include "bench/load.h"

namespace kb {

// release_bench --store postgres: kept-open load against one keybrokerd on SQLite, then against
// 1, 2 and 3 keybrokerd replicas sharing one real PostgreSQL (a server of its own in a temporary
// directory, fsync and synchronous_commit on, no standby), clients spread over the replicas;
// and, for 2 and 3, against as many SQLite brokers with a database each, which separates the
// cost of spreading the load over processes from the cost of the shared store.
// Prints releases/s, p99, broker CPU and PostgreSQL CPU (postmaster and every backend) per
// release, PostgreSQL's write transactions and WAL flushes per release, and the total against
// SQLite's in the same run. Then the store's part of a release alone (bench/store_floor.h) on
// SQLite and on PostgreSQL, between one SQLite broker's load and one replica's: what keybrokerd
// on PostgreSQL would cost at least if nothing but its store differed. Returns the exit code.
int RunStoreComparison(std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const LoadConfig& cfg);

}  // namespace kb

#endif  // KB_BENCH_STORE_COMPARISON_H_
