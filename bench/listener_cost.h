#ifndef KB_BENCH_LISTENER_COST_H_
#define KB_BENCH_LISTENER_COST_H_

#include <functional>
#include <string>
#include <vector>

#include "bench/load.h"

namespace kb {

// What keybrokerd's own listener (GuardedListener: its accept thread, connection caps and the
// hand-over to gRPC through an external connection acceptor) costs per new connection against
// gRPC's listener: the floor model with a new TLS connection per release, started `rounds` times
// with each listener; in every other round keybrokerd's goes first, so that a drift of the host's
// speed falls on both alike when `rounds` is even. Prints each pair and the median difference;
// false when no pair was measured (a server did not start). `dir` holds keybrokerd's
// server.pem/key.
bool RunListenerComparison(const std::string& dir, const std::string& ca_pem,
                           const std::vector<Guest>& guests, const LoadConfig& cfg,
                           const std::function<double()>& floor, double& floor_us, int rounds);

}  // namespace kb

#endif  // KB_BENCH_LISTENER_COST_H_
