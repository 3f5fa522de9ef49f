#include "bench/listener_cost.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "bench/floor_model.h"

namespace kb {

bool RunListenerComparison(const std::string& dir, const std::string& ca_pem,
                           const std::vector<Guest>& guests, const LoadConfig& cfg,
                           const std::function<double()>& floor, double& floor_us, int rounds) {
  std::vector<double> differences;
  for (int round = 0; round < rounds; ++round) {
    double cpu[2] = {0, 0};  // gRPC's listener, keybrokerd's
    for (int i = 0; i < 2; ++i) {
      const bool guarded = (i + round) % 2 == 1;
      std::vector<std::string> args = {"tpm"};
      if (guarded) args.insert(args.begin(), "--guarded-listener");
      cpu[guarded] = RunFloorModel(guarded ? "model, new TLS connection each, keybrokerd's listener"
                                           : "model, new TLS connection each, gRPC's listener",
                                   std::move(args), dir, ca_pem, guests, cfg, floor, floor_us,
                                   /*new_connection_each=*/true)
                         .cpu_us;
    }
    if (cpu[0] <= 0 || cpu[1] <= 0) continue;
    differences.push_back(cpu[1] - cpu[0]);
    std::printf("round %d: keybrokerd's listener %.0f us, gRPC's %.0f us per release: %+.0f us\n",
                round + 1, cpu[1], cpu[0], cpu[1] - cpu[0]);
  }
  if (differences.empty()) {
    std::fputs("no pair measured: a floor_tls_server did not start\n", stderr);
    return false;
  }
  std::sort(differences.begin(), differences.end());
  const size_t n = differences.size();
  const double median = (differences[(n - 1) / 2] + differences[n / 2]) / 2;
  std::printf(
      "keybrokerd's listener costs %+.0f us per new connection against gRPC's (median of %zu "
      "pairs, range %+.0f..%+.0f)\n",
      median, n, differences.front(), differences.back());
  return true;
}

}  // namespace kb
