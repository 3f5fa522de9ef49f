// release_bench: N concurrent clients doing GetChallenge + ReleaseKey with full verification
// against a real keybrokerd over TLS on 127.0.0.1, with software AKs producing genuine
// TPMS_ATTEST quotes. Prints releases/s, p50/p99 latency, the broker's peak RSS, and the cost of
// the necessary crypto measured in the same run, so the overhead over that floor is visible.
//
//   release_bench [--clients N] [--seconds S]
//   release_bench --breakdown-only   (the floor and the cost breakdown, no load runs)
//   release_bench --store postgres   (SQLite against 1, 2 and 3 replicas on PostgreSQL)
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/cost_breakdown.h"
#include "bench/load.h"
#include "bench/store_comparison.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "tests/fakes/software_tpm.h"

namespace kb {
namespace {

using Clock = std::chrono::steady_clock;

// Microseconds of crypto a release cannot avoid: quote + certification signature checks and
// the wrap to the transfer key (ephemeral ECDH, HKDF, AES-KWP).
double CryptoFloorMicros(SoftwareTpm& tpm) {
  v1::GetChallengeResponse c;
  c.set_nonce(std::string(32, 'n'));
  v1::ReleaseKeyRequest r = BuildRequest(tpm, c);
  SecretBytes key = *RandomSecret(32);
  const auto& q = r.evidence().tpm_quote();
  const auto& t = r.transfer_key().tpm();
  // The best of several batches, so a busy moment on the machine does not inflate the floor.
  double best = 1e18;
  for (int batch = 0; batch < 5; ++batch) {
    const int n = 400;
    auto start = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto ak = PublicKeyFromTpmt(*ParseTpmtPublic(q.ak_public(), "ak"));
      bool ok =
          VerifyTpmSignature(ak->get(), *ParseTpmtSignature(q.signature(), "s"), q.attest()).ok() &&
          VerifyTpmSignature(ak->get(), *ParseTpmtSignature(t.certify_signature(), "s"),
                             t.certify_info())
              .ok() &&
          WrapToTpmTransferKey(*ParseTpmtPublic(t.public_area(), "t"), t.public_area(), key).ok();
      if (!ok) std::abort();
    }
    best =
        std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n);
  }
  return best;
}

// Runs one load phase and prints its figures. The ratio compares the broker's throughput per
// CPU-second it used with the crypto floor's (1.0 = the broker spends nothing beyond the crypto).
void RunAndReport(const char* name, const BrokerProcess& broker,
                  std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const LoadConfig& cfg,
                  bool new_connection_each, double floor_us) {
  const double cpu_before = CpuSeconds(broker.pid());
  RunResult r = RunLoad(broker, tpms, cfg, new_connection_each);
  const double cpu = CpuSeconds(broker.pid()) - cpu_before;
  const double releases = r.releases_per_second * cfg.seconds;
  const double cpu_us = releases > 0 ? cpu * 1e6 / releases : 0;
  std::printf("%-24s %6.0f releases/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", name,
              r.releases_per_second, r.p50_ms, r.p99_ms, r.errors);
  std::printf("%-24s broker CPU %.0f us/release = %.2fx the crypto floor's throughput per core\n",
              "", cpu_us, cpu_us > 0 ? floor_us / cpu_us : 0);
}

}  // namespace
}  // namespace kb

int main(int argc, char** argv) {
  kb::LoadConfig cfg;
  bool breakdown_only = false;
  std::string store = "sqlite";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--breakdown-only") {
      breakdown_only = true;
    } else if (flag == "--clients" && has_value) {
      cfg.clients = std::atoi(argv[++i]);
    } else if (flag == "--seconds" && has_value) {
      cfg.seconds = std::atof(argv[++i]);
    } else if (flag == "--store" && has_value) {
      store = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: release_bench [--clients N] [--seconds S] [--store sqlite|postgres] "
                   "[--breakdown-only]\n");
      return flag == "--help" ? 0 : 2;
    }
  }
  if ((store != "sqlite" && store != "postgres") || cfg.clients < 1 || cfg.seconds <= 0) {
    std::fprintf(stderr,
                 "release_bench: --store is sqlite or postgres, --clients and --seconds "
                 "are positive\n");
    return 2;
  }
  kb::SetQuietLogging(true);
  if (store == "postgres") {
    std::vector<std::unique_ptr<kb::SoftwareTpm>> tpms;
    for (int i = 0; i < cfg.clients; ++i) tpms.push_back(*kb::SoftwareTpm::Create());
    return kb::RunStoreComparison(tpms, cfg);
  }
  auto broker = kb::BrokerProcess::Start();
  if (!broker.ok()) {
    std::fprintf(stderr, "cannot start keybrokerd: %s\n",
                 std::string(broker.status().message()).c_str());
    return 1;
  }
  std::vector<std::unique_ptr<kb::SoftwareTpm>> tpms;
  for (int i = 0; i < cfg.clients; ++i) tpms.push_back(*kb::SoftwareTpm::Create());
  kb::Setup(**broker, tpms);
  const double floor_us = kb::CryptoFloorMicros(*tpms[0]);
  const double floor_per_s = 1e6 / floor_us;
  std::printf(
      "release_bench: %d clients, %.0f s per run, %u cores, keybrokerd over TLS on "
      "127.0.0.1\n",
      cfg.clients, cfg.seconds, std::thread::hardware_concurrency());
  std::printf(
      "crypto floor: %.1f us per release (2 ECDSA-P256 verifies + ECDH-P256 wrap) = "
      "%.0f releases/s on one core\n",
      floor_us, floor_per_s);
  if (!breakdown_only) {
    kb::RunAndReport("kept-open connection", **broker, tpms, cfg, false, floor_us);
    kb::RunAndReport("new TLS connection each", **broker, tpms, cfg, true, floor_us);
    std::printf("keybrokerd peak RSS: %ld KiB\n", kb::PeakRssKb((*broker)->pid()));
  }
  // Where the CPU beyond the floor goes: the broker core alone, and a new connection's TLS.
  const double core_us = kb::ServiceCoreMicros(*tpms[0]);
  std::printf(
      "cost breakdown: broker core without gRPC/TLS (verify, policy, SQLite, audit) %.0f us per "
      "release = floor + %.0f us\n",
      core_us, core_us - floor_us);
  const double tls_us = kb::TlsServerHandshakeMicros(*kb::ReadFile((*broker)->Path("server.pem")),
                                                     *kb::ReadFile((*broker)->Path("server.key")),
                                                     *kb::ReadFile((*broker)->Path("ca.pem")));
  std::printf(
      "cost breakdown: server side of one TLS 1.3 handshake (OpenSSL %s, in memory) %.0f us\n",
      OpenSSL_version(OPENSSL_VERSION_STRING), tls_us);
  return 0;
}
