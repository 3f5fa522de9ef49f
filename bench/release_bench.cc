// release_bench: N concurrent clients doing GetChallenge + ReleaseKey with full verification
// against a real keybrokerd over TLS on 127.0.0.1, with software AKs producing genuine
// TPMS_ATTEST quotes. Prints releases/s, p50/p99 latency, the broker's peak RSS, and the cost of
// the necessary crypto measured in the same run, so the overhead over that floor is visible.
//
//   release_bench [--clients N] [--seconds S]
//   release_bench --breakdown-only   (the floor and the cost breakdown, no load runs)
//   release_bench --store postgres   (SQLite against 1, 2 and 3 replicas on PostgreSQL)
//   release_bench --snp-only         (just the SEV-SNP profile, which a full run ends with)
//   release_bench --listener-only    (keybrokerd's listener against gRPC's, per new connection)
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bare_server.h"
#include "bench/cost_breakdown.h"
#include "bench/floor_model.h"
#include "bench/floor_work.h"
#include "bench/listener_cost.h"
#include "bench/load.h"
#include "bench/phase.h"
#include "bench/snp_profile.h"
#include "bench/store_comparison.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/logging.h"
#include "tests/fakes/software_tpm.h"

namespace kb {
namespace {

// Microseconds of this thread's CPU for the crypto a release cannot avoid: quote +
// certification signature checks and the wrap to the transfer key (ephemeral ECDH, HKDF,
// AES-KWP). The best of several batches, so that a preempted moment does not inflate it.
double CryptoFloorMicros(SoftwareTpm& tpm) {
  v1::GetChallengeResponse c;
  c.set_nonce(std::string(32, 'n'));
  v1::ReleaseKeyRequest r = BuildRequest(tpm, c);
  SecretBytes key = *RandomSecret(32);
  double best = 1e18;
  for (int batch = 0; batch < 5; ++batch) {
    const int n = 200;
    const double start = ThreadCpuSeconds();
    for (int i = 0; i < n; ++i) {
      if (!TpmFloorWork(r, key).ok()) std::abort();
    }
    best = std::min(best, (ThreadCpuSeconds() - start) * 1e6 / n);
  }
  return best;
}

// The targets keybrokerd is measured against, each from figures of this run.
void PrintTargets(const PhaseFigures& kept, const PhaseFigures& fresh,
                  const PhaseFigures& bare_fresh) {
  PrintKeptOpenTarget("TPM", kept);
  const double fresh_target = 1.25 * (bare_fresh.cpu_us + fresh.floor_us);
  std::printf(
      "target, new connection: keybrokerd CPU <= 1.25 x (bare gRPC %.0f us + floor %.0f us) = "
      "%.0f us: %.0f us, %s\n",
      bare_fresh.cpu_us, fresh.floor_us, fresh_target, fresh.cpu_us,
      fresh.cpu_us <= fresh_target ? "met" : "not met");
}

// keybrokerd, then the bare gRPC server with noop handlers, each kept-open and with a new TLS
// connection per release, then the floor models (kept-open); the floor between every two loads.
void RunLoads(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms,
              const LoadConfig& cfg, double floor_us) {
  const std::vector<Guest> guests = TpmGuests(tpms);
  const auto floor = [&tpms] { return CryptoFloorMicros(*tpms[0]); };
  pid_t bare_pid = -1;
  int bare_port = 0;
  if (!StartBare(broker.dir(), &bare_pid, &bare_port, /*noop_release=*/true)) {
    std::fprintf(stderr, "bare_tls_server did not start\n");
    std::exit(1);
  }
  const Endpoint keybrokerd = EndpointOf(broker);
  const Endpoint bare{absl::StrCat("127.0.0.1:", bare_port), keybrokerd.ca_pem};
  const PhaseFigures kept =
      RunPhase({"keybrokerd, kept-open connection", broker.pid(), keybrokerd, false, true}, guests,
               cfg, floor, floor_us);
  const PhaseFigures fresh =
      RunPhase({"keybrokerd, new TLS connection each", broker.pid(), keybrokerd, true, true},
               guests, cfg, floor, floor_us);
  RunPhase({"bare gRPC noop, kept-open", bare_pid, bare, false, false}, guests, cfg, floor,
           floor_us);
  const PhaseFigures bare_fresh =
      RunPhase({"bare gRPC noop, new TLS connection each", bare_pid, bare, true, false}, guests,
               cfg, floor, floor_us);
  kill(bare_pid, SIGTERM);
  waitpid(bare_pid, nullptr, 0);
  const FloorModelFigures models =
      RunFloorModels("tpm", broker.dir(), keybrokerd.ca_pem, guests, cfg, floor, floor_us,
                     /*new_connection_too=*/true);
  std::printf("keybrokerd peak RSS: %ld KiB\n", PeakRssKb(broker.pid()));
  PrintTargets(kept, fresh, bare_fresh);
  PrintFloorModels("TPM", kept, models);
  PrintNewConnectionModel(fresh, bare_fresh, models);
}

// What the bench runs with TPM guests.
enum class TpmRun { kFull, kBreakdownOnly, kListenerOnly };

// Where the CPU beyond the floor goes: the broker core alone, and a new connection's TLS.
void PrintBreakdown(const BrokerProcess& broker, SoftwareTpm& tpm, double floor_us) {
  const ServiceCoreFigures core = ServiceCoreMicros(tpm);
  std::printf(
      "cost breakdown: broker core without gRPC/TLS (verify, policy, SQLite, audit) %.0f us per "
      "release = floor + %.0f us\n",
      core.one_read, core.one_read - floor_us);
  std::printf(
      "cost breakdown: the same with the store's reads made one call each, side by side: %.0f us "
      "(one read transaction saves %.0f us)\n",
      core.reads_one_by_one, core.reads_one_by_one - core.one_read);
  const double tls_us = TlsServerHandshakeMicros(*ReadFile(broker.Path("server.pem")),
                                                 *ReadFile(broker.Path("server.key")),
                                                 *ReadFile(broker.Path("ca.pem")));
  std::printf(
      "cost breakdown: server side of one TLS 1.3 handshake (OpenSSL %s, in memory) %.0f us\n",
      OpenSSL_version(OPENSSL_VERSION_STRING), tls_us);
}

// The TPM profile (the loads unless --breakdown-only, then the cost breakdown), then the
// SEV-SNP profile unless --breakdown-only; or, --listener-only, just the listeners compared.
int RunTpmProfile(const LoadConfig& cfg, TpmRun run) {
  auto broker = BrokerProcess::Start();
  if (!broker.ok()) {
    std::fprintf(stderr, "cannot start keybrokerd: %s\n",
                 std::string(broker.status().message()).c_str());
    return 1;
  }
  std::vector<std::unique_ptr<SoftwareTpm>> tpms;
  for (int i = 0; i < cfg.clients; ++i) tpms.push_back(*SoftwareTpm::Create());
  Setup(**broker, tpms);
  double floor_us = CryptoFloorMicros(*tpms[0]);
  std::printf(
      "release_bench: %d clients, %.0f s per run, %u cores, keybrokerd over TLS on "
      "127.0.0.1\n",
      cfg.clients, cfg.seconds, std::thread::hardware_concurrency());
  std::printf(
      "crypto floor (2 ECDSA-P256 verifies + ECDH-P256 wrap, thread CPU, measured again after "
      "each load): %.1f us per release\n",
      floor_us);
  if (run == TpmRun::kListenerOnly) {
    const bool measured = RunListenerComparison(
        (*broker)->dir(), EndpointOf(**broker).ca_pem, TpmGuests(tpms), cfg,
        [&tpms] { return CryptoFloorMicros(*tpms[0]); }, floor_us, /*rounds=*/4);
    return measured ? 0 : 1;
  }
  if (run == TpmRun::kFull) RunLoads(**broker, tpms, cfg, floor_us);
  PrintBreakdown(**broker, *tpms[0], floor_us);
  broker->reset();
  return run == TpmRun::kBreakdownOnly ? 0 : RunSnpProfile(cfg);
}

struct BenchArgs {
  LoadConfig cfg;
  std::string store = "sqlite";
  bool breakdown_only = false;
  bool snp_only = false;
  bool listener_only = false;
};

constexpr char kUsage[] =
    "usage: release_bench [--clients N] [--seconds S] "
    "[--store sqlite|postgres | --breakdown-only | --snp-only | --listener-only]\n";

// The arguments, or the exit code: 0 for --help, 2 for a usage error (said on stderr).
std::variant<BenchArgs, int> ParseBenchArgs(int argc, char** argv) {
  BenchArgs args;
  bool store_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--breakdown-only") {
      args.breakdown_only = true;
    } else if (flag == "--snp-only") {
      args.snp_only = true;
    } else if (flag == "--listener-only") {
      args.listener_only = true;
    } else if (flag == "--clients" && has_value) {
      args.cfg.clients = std::atoi(argv[++i]);
    } else if (flag == "--seconds" && has_value) {
      args.cfg.seconds = std::atof(argv[++i]);
    } else if (flag == "--store" && has_value) {
      args.store = argv[++i];
      store_given = true;
    } else {
      std::fputs(kUsage, stderr);
      return flag == "--help" ? 0 : 2;
    }
  }
  if (args.store != "sqlite" && args.store != "postgres") {
    std::fputs("release_bench: --store is sqlite or postgres\n", stderr);
    return 2;
  }
  if (args.cfg.clients < 1 || args.cfg.seconds <= 0) {
    std::fputs("release_bench: --clients and --seconds are positive\n", stderr);
    return 2;
  }
  if (store_given + args.breakdown_only + args.snp_only + args.listener_only > 1) {
    std::fputs(
        "release_bench: --store, --breakdown-only, --snp-only and --listener-only are separate "
        "runs; give one\n",
        stderr);
    return 2;
  }
  return args;
}

}  // namespace
}  // namespace kb

int main(int argc, char** argv) {
  auto parsed = kb::ParseBenchArgs(argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const kb::BenchArgs& args = std::get<kb::BenchArgs>(parsed);
  kb::SetQuietLogging(true);
  if (args.store == "postgres") {
    std::vector<std::unique_ptr<kb::SoftwareTpm>> tpms;
    for (int i = 0; i < args.cfg.clients; ++i) tpms.push_back(*kb::SoftwareTpm::Create());
    return kb::RunStoreComparison(tpms, args.cfg);
  }
  if (args.snp_only) return kb::RunSnpProfile(args.cfg);
  return kb::RunTpmProfile(args.cfg, args.listener_only    ? kb::TpmRun::kListenerOnly
                                     : args.breakdown_only ? kb::TpmRun::kBreakdownOnly
                                                           : kb::TpmRun::kFull);
}
