#ifndef KB_BENCH_FLOOR_MODEL_H_
#define KB_BENCH_FLOOR_MODEL_H_

#include <string>
#include <vector>

#include "bench/phase.h"

namespace kb {

// floor_tls_server under the same kept-open load as keybrokerd: bare gRPC with only the crypto
// floor of each release inline (`mode`: "tpm" or "snp:VCEK_DER"), then the same with a 256-byte
// record fdatasync()ed per release; with `new_connection_too`, also both with a new TLS
// connection per release. `dir` holds keybrokerd's server.pem/key and takes the records. A
// figure's cpu_us is 0 when its server did not start (or was not run).
struct FloorModelFigures {
  PhaseFigures floor_only;
  PhaseFigures durable;
  PhaseFigures floor_only_new_connection;
  PhaseFigures durable_new_connection;
};
FloorModelFigures RunFloorModels(const std::string& mode, const std::string& dir,
                                 const std::string& ca_pem, const std::vector<Guest>& guests,
                                 const LoadConfig& cfg, const std::function<double()>& floor,
                                 double& floor_us, bool new_connection_too = false);

// One load against floor_tls_server started with `args` (see RunFloorModels), printed as `name`.
PhaseFigures RunFloorModel(const char* name, std::vector<std::string> args, const std::string& dir,
                           const std::string& ca_pem, const std::vector<Guest>& guests,
                           const LoadConfig& cfg, const std::function<double()>& floor,
                           double& floor_us, bool new_connection_each = false);

// keybrokerd's kept-open figure against the models: the best ratio any broker on this gRPC and
// OpenSSL could reach (with and without a durable record per release), and what keybrokerd
// spends beyond each.
void PrintFloorModels(const char* profile, const PhaseFigures& kept, const FloorModelFigures& m);
// The new-connection target (<= 1.25 x (bare gRPC noop + floor)) applied to the models with a
// new connection each (the floor only; the floor and a durable record): whether any broker on
// this stack, or any whose audit record is durable before it answers, could meet it.
void PrintNewConnectionModel(const PhaseFigures& fresh, const PhaseFigures& bare_fresh,
                             const FloorModelFigures& m);

}  // namespace kb

#endif  // KB_BENCH_FLOOR_MODEL_H_
