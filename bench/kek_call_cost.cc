// What keybrokerd's bound on HSM calls costs (keybroker/kek/deadline_bound_kek.h): a key
// version opened by a SoftHSM2 KEK on the caller's thread (as outside a request) and on
// DeadlineBoundKek's threads (as under a request's deadline), alternating, in one run. Prints
// the process's CPU time (every thread) and the wall time per Open. Not a test.
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "common/request_deadline.h"
#include "keybroker/kek/deadline_bound_kek.h"
#include "keybroker/kek/pkcs11_kek.h"
#include "tests/support/softhsm_token.h"

namespace kb {
namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct PerCall {
  double cpu_us = 0, wall_us = 0;
};

// `n` Opens of `sealed`; under a request deadline when `bounded`.
PerCall Measure(Kek& kek, const std::string& sealed, int n, bool bounded) {
  const double cpu = CpuSeconds();
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    const RequestDeadline::Override deadline(bounded ? absl::Now() + absl::Seconds(30)
                                                     : absl::InfiniteFuture());
    if (!kek.Open(sealed, "bench/1").ok()) std::abort();
  }
  return {(CpuSeconds() - cpu) * 1e6 / n, absl::ToDoubleMicroseconds(absl::Now() - start) / n};
}

int Run() {
  auto token = SoftHsmToken::Create("kb-bench");
  if (!token.ok()) return std::fprintf(stderr, "%s\n", token.status().ToString().c_str()), 1;
  const Pkcs11KekLocation where{SoftHsmToken::kModule, "kb-bench", "kek"};
  if (!Pkcs11Kek::Generate(where, SecretBytes::FromString(SoftHsmToken::kPin)).ok()) return 1;
  auto hsm = Pkcs11Kek::Open(where, SecretBytes::FromString(SoftHsmToken::kPin));
  if (!hsm.ok()) return std::fprintf(stderr, "%s\n", hsm.status().ToString().c_str()), 1;
  DeadlineBoundKek kek(*std::move(hsm), 32);
  auto sealed = kek.Seal(SecretBytes::FromString(std::string(32, 'k')), "bench/1");
  if (!sealed.ok()) return 1;
  constexpr int kCalls = 5000;
  Measure(kek, *sealed, 500, true);  // warm-up: sessions, threads
  for (int round = 1; round <= 5; ++round) {
    const PerCall inline_call = Measure(kek, *sealed, kCalls, false);
    const PerCall bounded = Measure(kek, *sealed, kCalls, true);
    std::printf(
        "round %d: SoftHSM2 Open on the caller's thread %.1f us CPU (%.1f us wall); on "
        "DeadlineBoundKek's threads %.1f us CPU (%.1f us wall): +%.1f us CPU per call\n",
        round, inline_call.cpu_us, inline_call.wall_us, bounded.cpu_us, bounded.wall_us,
        bounded.cpu_us - inline_call.cpu_us);
  }
  return 0;
}

}  // namespace
}  // namespace kb

int main() { return kb::Run(); }
