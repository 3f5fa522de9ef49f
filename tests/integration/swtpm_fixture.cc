#include "tests/integration/swtpm_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"

namespace kb {
namespace {

constexpr int kLaunchAttempts = 8;
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStopTimeout = std::chrono::seconds(5);

// True if a TCP socket can bind 127.0.0.1:port (nothing listens there now).
bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

int RandomPortPair() {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(20000, 32766);
  for (int i = 0; i < 100; ++i) {
    int p = dist(rng);
    if (PortFree(p) && PortFree(p + 1)) return p;
  }
  return 0;
}

// Waits up to `timeout` for `pid` to exit; true if it was reaped.
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Starts swtpm serving on 127.0.0.1:port (control channel on port + 1), its output appended to
// `log`. Returns the child's pid, or -1.
pid_t SpawnSwtpm(const std::string& state_dir, int port, const std::string& log) {
  const std::vector<std::string> args = {
      "swtpm",
      "socket",
      "--tpm2",
      "--tpmstate",
      absl::StrCat("dir=", state_dir),
      "--server",
      absl::StrCat("type=tcp,port=", port, ",bindaddr=127.0.0.1"),
      "--ctrl",
      absl::StrCat("type=tcp,port=", port + 1, ",bindaddr=127.0.0.1"),
      "--flags",
      "not-need-init,startup-clear"};
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  const pid_t pid = SpawnTiedToParent(args, fd);
  close(fd);
  return pid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SwtpmFixture>> SwtpmFixture::Start() { return Start(Options()); }

std::string SwtpmFixture::EkRootCaFile(const std::string& ek_ca_dir) {
  return ek_ca_dir + "/swtpm-localca-rootca-cert.pem";
}
std::string SwtpmFixture::EkIssuerCaFile(const std::string& ek_ca_dir) {
  return ek_ca_dir + "/issuercert.pem";
}

// swtpm_setup with config files in the state directory that point swtpm_localca at
// `ek_ca_dir` (instead of /etc and /var/lib/swtpm-localca).
absl::Status SwtpmFixture::Manufacture(const std::string& ek_ca_dir) {
  const std::string localca_conf = state_dir_ + "/swtpm-localca.conf";
  const std::string localca_opts = state_dir_ + "/swtpm-localca.options";
  const std::string setup_conf = state_dir_ + "/swtpm_setup.conf";
  std::ofstream(localca_conf) << "statedir = " << ek_ca_dir << "\nsigningkey = " << ek_ca_dir
                              << "/signkey.pem\nissuercert = " << EkIssuerCaFile(ek_ca_dir)
                              << "\ncertserial = " << ek_ca_dir << "/certserial\n";
  std::ofstream(localca_opts) << "--platform-manufacturer keybroker-test\n"
                                 "--platform-version 2.1\n--platform-model swtpm\n";
  std::ofstream(setup_conf) << "create_certs_tool = /usr/bin/swtpm_localca\n"
                            << "create_certs_tool_config = " << localca_conf << "\n"
                            << "create_certs_tool_options = " << localca_opts << "\n"
                            << "active_pcr_banks = sha256\n";
  const std::string cmd =
      absl::StrCat("swtpm_setup --tpm2 --tpmstate ", state_dir_, " --create-ek-cert --config ",
                   setup_conf, " --overwrite >", state_dir_, "/swtpm_setup.log 2>&1");
  if (std::system(cmd.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("swtpm_setup failed; see ", state_dir_, "/swtpm_setup.log"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SwtpmFixture>> SwtpmFixture::Start(const Options& options) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/kb-swtpm-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("mkdtemp ", templ, " failed"));
  }
  std::unique_ptr<SwtpmFixture> f(new SwtpmFixture(templ));
  if (options.create_ek_cert) {
    if (absl::Status m = f->Manufacture(options.ek_ca_dir); !m.ok()) return m;
  }
  absl::Status s = f->Launch();
  if (!s.ok()) return s;
  return f;
}

SwtpmFixture::~SwtpmFixture() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(state_dir_, ec);
}

std::string SwtpmFixture::tcti() const { return absl::StrCat("swtpm:host=127.0.0.1,port=", port_); }

void SwtpmFixture::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!WaitExit(pid_, kStopTimeout)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

absl::Status SwtpmFixture::Restart() {
  Stop();
  return Launch();
}

absl::Status SwtpmFixture::Launch() {
  absl::Status last = absl::UnavailableError("no free port pair below 32768");
  for (int i = 0; i < kLaunchAttempts; ++i) {
    const int port = RandomPortPair();
    if (port == 0) continue;
    last = LaunchOnPort(port);
    if (last.ok()) return last;
  }
  return last;
}

absl::Status SwtpmFixture::LaunchOnPort(int port) {
  const std::string log = state_dir_ + "/swtpm.log";
  const pid_t pid = SpawnSwtpm(state_dir_, port, log);
  if (pid < 0) return absl::UnavailableError("cannot start swtpm (fork, or its log " + log + ")");
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid, &wstatus, WNOHANG) == pid) {
      return absl::UnavailableError(
          absl::StrCat("swtpm on port ", port, " exited (status ", wstatus, "); see ", log));
    }
    if (Accepts(port)) {
      pid_ = pid;
      port_ = port;
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return absl::UnavailableError(
      absl::StrCat("swtpm did not accept connections on port ", port, " within 10 s; see ", log));
}

}  // namespace kb
