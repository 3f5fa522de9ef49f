#include "bench/phase.h"

#include <cstdio>

namespace kb {

PhaseFigures RunPhase(const Phase& phase, const std::vector<Guest>& guests, const LoadConfig& cfg,
                      const std::function<double()>& floor, double& floor_us) {
  const double cpu_before = CpuSeconds(phase.pid);
  RunResult r =
      RunLoad(std::vector<Endpoint>{phase.endpoint}, guests, cfg, phase.new_connection_each);
  const double cpu = CpuSeconds(phase.pid) - cpu_before;
  const double floor_after = floor();
  const double releases = r.releases_per_second * cfg.seconds;
  PhaseFigures f{releases > 0 ? cpu * 1e6 / releases : 0, (floor_us + floor_after) / 2};
  floor_us = floor_after;
  std::printf("%-40s %6.0f releases/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", phase.name,
              r.releases_per_second, r.p50_ms, r.p99_ms, r.errors);
  std::printf("%-40s server CPU %.0f us/release", "", f.cpu_us);
  if (phase.against_floor) {
    std::printf(" = %.2fx the crypto floor (%.0f us beside it)",
                f.cpu_us > 0 ? f.floor_us / f.cpu_us : 0, f.floor_us);
  }
  std::printf("\n");
  return f;
}

void PrintKeptOpenTarget(const char* profile, const PhaseFigures& kept) {
  const double target = kept.floor_us / 0.70;
  std::printf("target, %s kept-open: keybrokerd CPU <= floor / 0.70 = %.0f us: %.0f us, %s\n",
              profile, target, kept.cpu_us, kept.cpu_us <= target ? "met" : "not met");
}

}  // namespace kb
