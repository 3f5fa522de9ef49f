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
// with each listener, alternating, so that the host's drift falls on both. Prints each pair and
// the median difference. `dir` holds keybrokerd's server.pem/key.
void RunListenerComparison(const std::string& dir, const std::string& ca_pem,
                           const std::vector<Guest>& guests, const LoadConfig& cfg,
                           const std::function<double()>& floor, double& floor_us, int rounds);

}  // namespace kb

#endif  // KB_BENCH_LISTENER_COST_H_
