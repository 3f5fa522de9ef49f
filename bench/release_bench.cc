// release_bench: N concurrent clients doing GetChallenge + ReleaseKey with full verification
// against a real keybrokerd over TLS on 127.0.0.1, with software AKs producing genuine
// TPMS_ATTEST quotes. Prints releases/s, p50/p99 latency, the broker's peak RSS, and the cost of
// the necessary crypto measured in the same run, so the overhead over that floor is visible.
//
//   release_bench [--clients N] [--seconds S]
//   release_bench --breakdown-only   (the floor and the cost breakdown, no load runs)
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/cost_breakdown.h"
#include "common/binding.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/broker_process.h"

namespace kb {
namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  int clients = 8;
  double seconds = 5;
};

struct RunResult {
  double releases_per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  int errors = 0;
};

v1::ReleaseKeyRequest BuildRequest(SoftwareTpm& tpm, const v1::GetChallengeResponse& c) {
  std::string pub = *tpm.CreateTransferKey(TransferKeyType::kEccP256);
  std::string binding = ComputeBinding(c.nonce(), "bench", pub);
  v1::ReleaseKeyRequest r;
  r.set_challenge_id(c.challenge_id());
  r.set_key_id("bench");
  *r.mutable_transfer_key()->mutable_tpm() = *tpm.CertifyTransferKey(binding);
  *r.mutable_evidence()->mutable_tpm_quote() = *tpm.Quote(binding, {0, 1, 2, 3, 4, 5, 6, 7});
  return r;
}

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

std::shared_ptr<grpc::Channel> NewChannel(const BrokerProcess& broker, const std::string& ca) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a real new TCP + TLS connection
  return grpc::CreateCustomChannel(broker.release_endpoint(), grpc::SslCredentials(options), args);
}

RunResult RunLoad(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms,
                  const Config& cfg, bool new_connection_each) {
  const std::string ca = *ReadFile(broker.Path("ca.pem"));
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> errors{0};
  const auto deadline = Clock::now() + std::chrono::duration<double>(cfg.seconds);
  auto worker = [&](SoftwareTpm* tpm) {
    auto stub = v1::KeyRelease::NewStub(NewChannel(broker, ca));
    std::vector<double> mine;
    while (Clock::now() < deadline) {
      if (new_connection_each) stub = v1::KeyRelease::NewStub(NewChannel(broker, ca));
      v1::GetChallengeRequest cr;
      cr.set_key_id("bench");
      v1::GetChallengeResponse challenge;
      auto t0 = Clock::now();
      grpc::ClientContext c1;
      if (!stub->GetChallenge(&c1, cr, &challenge).ok()) {
        ++errors;
        continue;
      }
      auto t1 = Clock::now();
      v1::ReleaseKeyRequest request = BuildRequest(*tpm, challenge);  // the guest's TPM work
      auto t2 = Clock::now();
      v1::ReleaseKeyResponse response;
      grpc::ClientContext c2;
      if (!stub->ReleaseKey(&c2, request, &response).ok()) {
        ++errors;
        continue;
      }
      auto t3 = Clock::now();
      mine.push_back(std::chrono::duration<double, std::milli>((t1 - t0) + (t3 - t2)).count());
    }
    std::lock_guard<std::mutex> lock(mu);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (auto& tpm : tpms) threads.emplace_back(worker, tpm.get());
  for (auto& t : threads) t.join();
  std::sort(latencies.begin(), latencies.end());
  RunResult r;
  r.errors = errors;
  if (latencies.empty()) return r;
  r.releases_per_second = latencies.size() / cfg.seconds;
  r.p50_ms = latencies[latencies.size() / 2];
  r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  return r;
}

// CPU seconds (user + system) the process has used so far.
double CpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 15 && stat >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / sysconf(_SC_CLK_TCK);
}

long PeakRssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void Setup(const BrokerProcess& broker, std::vector<std::unique_ptr<SoftwareTpm>>& tpms) {
  auto admin = broker.AdminStub();
  std::string machines;
  for (size_t i = 0; i < tpms.size(); ++i) {
    v1::RegisterAttestationKeyRequest r;
    r.set_machine(absl::StrCat("bench-", i));
    r.set_ak_public(*tpms[i]->AttestationKeyPublic());
    v1::AttestationKeyInfo info;
    grpc::ClientContext ctx;
    if (!admin->RegisterAttestationKey(&ctx, r, &info).ok()) std::abort();
    machines += absl::StrCat(i ? "," : "", "\"bench-", i, "\"");
  }
  v1::CreateKeyRequest create;
  create.set_key_id("bench");
  v1::KeyMetadata meta;
  v1::SetPolicyRequest policy;
  policy.set_key_id("bench");
  policy.set_policy_json(absl::StrCat(R"({"allow":[{"machines":[)", machines,
                                      R"(],"pcrs":[{"index":7,"allowed":[")", std::string(64, '0'),
                                      R"("]}]}]})"));
  v1::SetPolicyResponse resp;
  grpc::ClientContext c1, c2;
  if (!admin->CreateKey(&c1, create, &meta).ok() || !admin->SetPolicy(&c2, policy, &resp).ok()) {
    std::abort();
  }
}

// Runs one load phase and prints its figures. The ratio compares the broker's throughput per
// CPU-second it used with the crypto floor's (1.0 = the broker spends nothing beyond the crypto).
void RunAndReport(const char* name, const BrokerProcess& broker,
                  std::vector<std::unique_ptr<SoftwareTpm>>& tpms, const Config& cfg,
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
  kb::Config cfg;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--clients") cfg.clients = std::atoi(argv[i + 1]);
    if (flag == "--seconds") cfg.seconds = std::atof(argv[i + 1]);
  }
  const bool breakdown_only = argc == 2 && std::string(argv[1]) == "--breakdown-only";
  kb::SetQuietLogging(true);
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
