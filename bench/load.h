#ifndef KB_BENCH_LOAD_H_
#define KB_BENCH_LOAD_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kb/v1/release.grpc.pb.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/broker_process.h"

namespace kb {

struct LoadConfig {
  int clients = 8;
  double seconds = 5;
};

struct RunResult {
  double releases_per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  int errors = 0;
};

// A ReleaseKey request for key "bench" answering challenge `c` with `tpm`'s genuine evidence.
v1::ReleaseKeyRequest BuildRequest(SoftwareTpm& tpm, const v1::GetChallengeResponse& c);

// One guest of a load: its ReleaseKey request for key "bench" answering a challenge (a fresh
// transfer key and evidence binding it). Called from one thread only.
using Guest = std::function<v1::ReleaseKeyRequest(const v1::GetChallengeResponse&)>;
// A guest per TPM, each doing BuildRequest.
std::vector<Guest> TpmGuests(std::vector<std::unique_ptr<SoftwareTpm>>& tpms);

// Where a load's clients connect: "127.0.0.1:PORT" and the CA that signed its certificate.
struct Endpoint {
  std::string address;
  std::string ca_pem;
};
Endpoint EndpointOf(const BrokerProcess& broker);

// One client thread per guest doing GetChallenge + ReleaseKey for cfg.seconds, client i on
// endpoints[i % endpoints.size()], on a kept-open connection or a new TLS connection per release.
RunResult RunLoad(const std::vector<Endpoint>& endpoints, const std::vector<Guest>& guests,
                  const LoadConfig& cfg, bool new_connection_each);
// The same with a guest per TPM.
RunResult RunLoad(const std::vector<Endpoint>& endpoints,
                  std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const LoadConfig& cfg,
                  bool new_connection_each);
// The same against `broker`.
RunResult RunLoad(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms,
                  const LoadConfig& cfg, bool new_connection_each);
// The same with client i on brokers[i % brokers.size()] (replicas sharing one store).
RunResult RunLoad(const std::vector<const BrokerProcess*>& brokers,
                  std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const LoadConfig& cfg,
                  bool new_connection_each);

// CPU seconds (user + system) the process has used so far, with those of the children it has
// reaped when `with_reaped_children`; 0 when it is gone.
double CpuSeconds(pid_t pid, bool with_reaped_children = false);
// The parent of `pid` (/proc/PID/stat), -1 when it is gone.
pid_t ParentPid(pid_t pid);
// CPU seconds the calling thread has used.
double ThreadCpuSeconds();
long PeakRssKb(pid_t pid);

// Registers every TPM's AK as machine "bench-<i>" and creates key "bench" with a policy that
// allows them. Aborts on failure (a benchmark, not a test).
void Setup(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms);

}  // namespace kb

#endif  // KB_BENCH_LOAD_H_
