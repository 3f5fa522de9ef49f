#include "bench/floor_model.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "bench/bare_server.h"

namespace kb {

PhaseFigures RunFloorModel(const char* name, std::vector<std::string> args, const std::string& dir,
                           const std::string& ca_pem, const std::vector<Guest>& guests,
                           const LoadConfig& cfg, const std::function<double()>& floor,
                           double& floor_us, bool new_connection_each) {
  pid_t pid = -1;
  int port = 0;
  if (!StartBenchServer("floor_tls_server", std::move(args), dir, &pid, &port)) {
    std::printf("%-40s did not start\n", name);
    return {};
  }
  const PhaseFigures f = RunPhase({name,
                                   pid,
                                   {absl::StrCat("127.0.0.1:", port), ca_pem},
                                   new_connection_each,
                                   /*against_floor=*/true},
                                  guests, cfg, floor, floor_us);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return f;
}

FloorModelFigures RunFloorModels(const std::string& mode, const std::string& dir,
                                 const std::string& ca_pem, const std::vector<Guest>& guests,
                                 const LoadConfig& cfg, const std::function<double()>& floor,
                                 double& floor_us, bool new_connection_too) {
  FloorModelFigures m;
  m.floor_only = RunFloorModel("model: gRPC + floor, kept-open", {mode}, dir, ca_pem, guests, cfg,
                               floor, floor_us);
  m.durable = RunFloorModel("model: gRPC + floor + fdatasync, kept-open", {mode, "--durable", dir},
                            dir, ca_pem, guests, cfg, floor, floor_us);
  if (new_connection_too) {
    m.floor_only_new_connection =
        RunFloorModel("model: gRPC + floor, new TLS connection each", {mode}, dir, ca_pem, guests,
                      cfg, floor, floor_us, /*new_connection_each=*/true);
    m.durable_new_connection = RunFloorModel(
        "model: gRPC + floor + fdatasync, new TLS connection each", {mode, "--durable", dir}, dir,
        ca_pem, guests, cfg, floor, floor_us, /*new_connection_each=*/true);
  }
  return m;
}

void PrintFloorModels(const char* profile, const PhaseFigures& kept, const FloorModelFigures& m) {
  for (const auto& [what, f] : {std::pair{"gRPC + floor", m.floor_only},
                                std::pair{"gRPC + floor + fdatasync", m.durable}}) {
    if (f.cpu_us <= 0) continue;
    std::printf(
        "%s kept-open, a broker doing only %s: %.2fx the floor at best; keybrokerd spends %.0f "
        "us (%.2fx) more\n",
        profile, what, f.floor_us / f.cpu_us, kept.cpu_us - f.cpu_us, kept.cpu_us / f.cpu_us);
  }
}

void PrintNewConnectionModel(const PhaseFigures& fresh, const PhaseFigures& bare_fresh,
                             const FloorModelFigures& m) {
  for (const auto& [what, f] : {std::pair{"gRPC + floor", m.floor_only_new_connection},
                                std::pair{"gRPC + floor + fdatasync", m.durable_new_connection}}) {
    if (f.cpu_us <= 0) continue;
    const double bound = bare_fresh.cpu_us + f.floor_us;
    std::printf(
        "new connection, a broker doing only %s: %.0f us = %.2fx (bare gRPC + floor) at best "
        "(target 1.25x); keybrokerd spends %.0f us (%.2fx) more\n",
        what, f.cpu_us, f.cpu_us / bound, fresh.cpu_us - f.cpu_us, fresh.cpu_us / f.cpu_us);
  }
}

}  // namespace kb
