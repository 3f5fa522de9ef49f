// Resident memory per idle TLS connection, side by side in one run: keybrokerd, and a bare gRPC
// 1.51 TLS server with no keybroker code (bare_tls_server), each holding 1,024 connections
// through TLS and the HTTP/2 preface from 64 loopback addresses, then 10 s after they close.
// Prints figures; asserts nothing. usage: connection_memory [CONNECTIONS]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/bare_server.h"
#include "tests/attack/attack_client.h"
#include "tests/attack/raw_connections.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"

namespace {

struct Figures {
  size_t idle = 0, held = 0, after = 0, refused = 0;
};

Figures Measure(pid_t pid, int port, int connections) {
  Figures f;
  f.idle = kb::RssKib(pid);
  {
    kb::RawConnections held;
    for (int i = 0; i < connections; ++i) {
      f.refused += !held.OpenIdleTls(absl::StrCat("127.0.6.", 1 + i / 16), port);
    }
    absl::SleepFor(absl::Milliseconds(500));
    f.held = kb::RssKib(pid);
  }
  absl::SleepFor(absl::Seconds(10));
  f.after = kb::RssKib(pid);
  return f;
}

void Print(const char* name, const Figures& f, int connections) {
  std::printf("%-16s %8zu %10zu %8zu %14.1f %8zu\n", name, f.idle / 1024, f.held / 1024,
              f.after / 1024, (static_cast<double>(f.held) - f.idle) / connections, f.refused);
}

}  // namespace

int main(int argc, char** argv) {
  int connections = 1024;
  if (argc > 1 && !absl::SimpleAtoi(argv[1], &connections)) return 2;
  auto broker = kb::BrokerProcess::Start();
  if (!broker.ok()) {
    std::fprintf(stderr, "keybrokerd: %s\n", std::string(broker.status().message()).c_str());
    return 1;
  }
  pid_t bare_pid = -1;
  int bare_port = 0;
  if (!kb::StartBare((*broker)->dir(), &bare_pid, &bare_port)) {
    std::fprintf(stderr, "bare_tls_server did not start\n");
    return 1;
  }
  const int broker_port = std::stoi((*broker)->release_endpoint().substr(10));
  const Figures bare = Measure(bare_pid, bare_port, connections);
  const Figures keybrokerd = Measure((*broker)->pid(), broker_port, connections);
  kill(bare_pid, SIGTERM);
  waitpid(bare_pid, nullptr, 0);
  std::printf("%d idle TLS+HTTP/2 connections, RSS in MiB (per connection in KiB)\n", connections);
  std::printf("%-16s %8s %10s %8s %14s %8s\n", "server", "idle", "held", "10s after",
              "KiB/connection", "refused");
  Print("bare gRPC 1.51", bare, connections);
  Print("keybrokerd", keybrokerd, connections);
  return 0;
}
