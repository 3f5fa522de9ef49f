#include "bench/listener_cost.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>

#include "bench/floor_model.h"
#include "bench/loopback_server.h"

namespace kb {

void RunListenerComparison(const std::string& dir, const std::string& ca_pem,
                           const std::vector<Guest>& guests, const LoadConfig& cfg,
                           const std::function<double()>& floor, double& floor_us, int rounds) {
  std::vector<double> differences;
  for (int round = 0; round < rounds; ++round) {
    double cpu[2] = {0, 0};  // gRPC's listener, keybrokerd's
    // Alternate which goes first, so that a trend in the host's speed does not favour one.
    for (int i = 0; i < 2; ++i) {
      const bool guarded = (i + round) % 2 == 1;
      // floor_tls_server inherits the choice (bench/loopback_server.h).
      if (guarded) {
        setenv(kBenchListenerEnv, "guarded", 1);
      } else {
        unsetenv(kBenchListenerEnv);
      }
      cpu[guarded] = RunFloorModel(guarded ? "model, new TLS connection each, keybrokerd's listener"
                                           : "model, new TLS connection each, gRPC's listener",
                                   {"tpm"}, dir, ca_pem, guests, cfg, floor, floor_us,
                                   /*new_connection_each=*/true)
                         .cpu_us;
    }
    unsetenv(kBenchListenerEnv);
    if (cpu[0] <= 0 || cpu[1] <= 0) continue;
    differences.push_back(cpu[1] - cpu[0]);
    std::printf("round %d: keybrokerd's listener %.0f us, gRPC's %.0f us per release: %+.0f us\n",
                round + 1, cpu[1], cpu[0], cpu[1] - cpu[0]);
  }
  if (differences.empty()) return;
  std::sort(differences.begin(), differences.end());
  std::printf(
      "keybrokerd's listener costs %+.0f us per new connection against gRPC's (median of %zu "
      "pairs, range %+.0f..%+.0f)\n",
      differences[differences.size() / 2], differences.size(), differences.front(),
      differences.back());
}

}  // namespace kb
