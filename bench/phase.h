#ifndef KB_BENCH_PHASE_H_
#define KB_BENCH_PHASE_H_

#include <sys/types.h>

#include <functional>
#include <vector>

#include "bench/load.h"

namespace kb {

// A load against one server process, and that process's CPU per release.
struct Phase {
  const char* name;
  pid_t pid;
  Endpoint endpoint;
  bool new_connection_each;
  bool against_floor;  // keybrokerd: print its CPU against the crypto floor
};

struct PhaseFigures {
  double cpu_us = 0;    // the server's CPU per release
  double floor_us = 0;  // the floor measured right before and right after the load, averaged
};

// Runs `phase` with `guests` and prints its figures. `floor` measures the crypto floor of these
// guests' releases in microseconds; `floor_us` is the floor measured just before, and on return
// holds the one measured just after, for the next phase.
PhaseFigures RunPhase(const Phase& phase, const std::vector<Guest>& guests, const LoadConfig& cfg,
                      const std::function<double()>& floor, double& floor_us);

// The kept-open target of issue 13: keybrokerd CPU <= floor / 0.70. Prints it for `profile`.
void PrintKeptOpenTarget(const char* profile, const PhaseFigures& kept);

}  // namespace kb

#endif  // KB_BENCH_PHASE_H_
