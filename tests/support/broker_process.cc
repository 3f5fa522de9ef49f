#include "tests/support/broker_process.h"

#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "tests/support/child_process.h"

namespace kb {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

std::string Slurp(const std::string& path) {
  auto s = ReadFile(path);
  return s.ok() ? *s : "";
}

// The number after the first "(port " from `at` on, if `end` follows it; `at` moves past it.
std::optional<int> PortAfter(absl::string_view log, size_t& at, char end) {
  at = log.find("(port ", at);
  if (at == absl::string_view::npos) return std::nullopt;
  at += 6;
  size_t digits = at;
  while (digits < log.size() && absl::ascii_isdigit(log[digits])) ++digits;
  int port = 0;
  if (digits == log.size() || log[digits] != end ||
      !absl::SimpleAtoi(log.substr(at, digits - at), &port)) {
    return std::nullopt;
  }
  at = digits;
  return port;
}

// The release and admin ports from keybrokerd's "keybrokerd serving: release on A (port N),
// admin on B (port M, mutual TLS)" line, once it is in `log` whole.
std::optional<std::pair<int, int>> ServingPorts(absl::string_view log) {
  size_t at = log.find("keybrokerd serving: release on ");
  if (at == absl::string_view::npos) return std::nullopt;
  const std::optional<int> release = PortAfter(log, at, ')');
  if (!release) return std::nullopt;
  const std::optional<int> admin = PortAfter(log, at, ',');
  if (!admin) return std::nullopt;
  return std::make_pair(*release, *admin);
}

}  // namespace

std::string BinaryPath(const std::string& name) {
  const std::string bin = Env("KB_BINARY_DIR", KB_DEFAULT_BINARY_DIR);
  if (name == "keybrokerd") return bin + "/keybroker/" + name;
  if (name == "keybrokerctl") return bin + "/keybroker/ctl/" + name;
  if (name == "kbunlock-software-snp") return bin + "/tests/" + name;
  return bin + "/unlocker/" + name;
}

std::string SourcePath(const std::string& relative) {
  return Env("KB_SOURCE_DIR", KB_DEFAULT_SOURCE_DIR) + "/" + relative;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data) {
  // posix_spawn, not fork + exec: its child does not allocate (see child_process.h).
  char tmpl[] = "/tmp/kb-cmd-XXXXXX";
  const int out_fd = mkostemp(tmpl, O_CLOEXEC);
  int in_pipe[2];
  if (out_fd < 0 || pipe2(in_pipe, O_CLOEXEC) != 0) return {};
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  if (spawned == 0 && !stdin_data.empty()) {
    (void)!write(in_pipe[1], stdin_data.data(), stdin_data.size());
  }
  close(in_pipe[1]);
  int status = 0;
  if (spawned == 0) waitpid(pid, &status, 0);
  close(out_fd);
  CommandResult r{spawned != 0        ? 127
                  : WIFEXITED(status) ? WEXITSTATUS(status)
                                      : 128 + WTERMSIG(status),
                  Slurp(tmpl)};
  unlink(tmpl);
  return r;
}

absl::Status MakeLuks2Image(const std::string& image, const std::string& passphrase_file,
                            const std::string& size) {
  if (auto s = WriteFileAtomic(passphrase_file, "correct horse battery staple"); !s.ok()) return s;
  CommandResult truncate = RunCommand({"/usr/bin/truncate", "-s", size, image});
  if (truncate.exit_code != 0) return absl::InternalError("truncate failed: " + truncate.output);
  CommandResult fmt =
      RunCommand({"/sbin/cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf",
                  "pbkdf2", "--pbkdf-force-iterations", "1000", image, passphrase_file});
  if (fmt.exit_code != 0) return absl::InternalError("luksFormat failed: " + fmt.output);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BrokerProcess>> BrokerProcess::Start(Options options) {
  char tmpl[] = "/tmp/kb-broker-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<BrokerProcess> b(new BrokerProcess(tmpl));
  CommandResult pki = RunCommand({"/bin/sh", SourcePath("tests/integration/make_pki.sh"), b->dir_});
  if (pki.exit_code != 0) return absl::InternalError("make_pki.sh failed: " + pki.output);
  auto kek = RandomBytes(32);
  if (!kek.ok()) return kek.status();
  if (auto s = WriteFileAtomic(b->Path("kek"), *kek, 0600); !s.ok()) return s;
  b->options_ = options;
  if (auto s = b->Launch(); !s.ok()) return s;
  return b;
}

absl::Status BrokerProcess::SetKekConfig(std::string kek_config) {
  options_.kek_config = std::move(kek_config);
  return WriteConfig();
}

absl::Status BrokerProcess::WriteConfig() {
  std::string ek_cas;
  for (const std::string& f : options_.ek_ca_files) {
    absl::StrAppend(&ek_cas, ek_cas.empty() ? "" : ",", "\"", f, "\"");
  }
  // Ports are 0 (kernel-chosen) at first and kept across Resume() so endpoints stay valid.
  const std::string text = absl::StrCat(
      R"({"release_listen":"127.0.0.1:)", release_port_, R"(","admin_listen":"127.0.0.1:)",
      admin_port_, R"(","tls_cert_file":"server.pem","tls_key_file":"server.key",)",
      R"("operator_ca_file":"operator-ca.pem",)",
      options_.store_config.empty() ? R"("database_path":"broker.db")" : options_.store_config, ",",
      options_.kek_config.empty() ? R"("kek_file":"kek")" : options_.kek_config, ",",
      R"("challenge_ttl_seconds":)", options_.challenge_ttl_seconds, ",",
      ek_cas.empty() ? "" : absl::StrCat(R"("ek_ca_files":[)", ek_cas, "],"),
      options_.extra_config.empty() ? "" : absl::StrCat(options_.extra_config, ","),
      // The certificates of make_pki.sh: by subject DN, and the auditor by common name.
      R"("operator_roles":[{"identity":"CN=operator-alice","roles":["admin"]},)",
      R"({"identity":"CN=operator-olivia","roles":["operator"]},)",
      R"({"identity":"auditor-ann","roles":["auditor"]},)",
      R"({"identity":"uri:spiffe://example.org/op/sam","roles":["auditor"]}]})");
  return WriteFileAtomic(Path("config.json"), text, 0600);
}

absl::Status BrokerProcess::Launch() {
  const std::string log = Path("keybrokerd.log");
  const std::string config = Path("config.json");
  if (auto s = WriteConfig(); !s.ok()) return s;
  unlink(log.c_str());
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::InternalError("cannot create " + log);
  pid_ = SpawnTiedToParent({BinaryPath("keybrokerd"), "--config", config}, log_fd);
  close(log_fd);
  if (pid_ < 0) return absl::InternalError("cannot start keybrokerd: fork failed");
  for (int i = 0; i < 200; ++i) {
    std::string text = Slurp(log);
    if (auto ports = ServingPorts(text)) {
      std::tie(release_port_, admin_port_) = *ports;
      return absl::OkStatus();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError("keybrokerd exited: " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return absl::DeadlineExceededError("keybrokerd did not start: " + Slurp(log));
}

int BrokerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 200 && !(exited = waitpid(pid_, &status, WNOHANG) == pid_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return status;
}

void BrokerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::Status BrokerProcess::Resume() { return Launch(); }

BrokerProcess::~BrokerProcess() {
  Stop();
  (void)!std::system(("rm -rf " + dir_).c_str());
}

std::string BrokerProcess::release_endpoint() const {
  return absl::StrCat("127.0.0.1:", release_port_);
}
std::string BrokerProcess::admin_endpoint() const {
  return absl::StrCat("127.0.0.1:", admin_port_);
}

std::shared_ptr<grpc::Channel> BrokerProcess::AdminChannel(const std::string& name) const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = Slurp(Path("ca.pem"));
  options.pem_cert_chain = Slurp(Path(name + ".pem"));
  options.pem_private_key = Slurp(Path(name + ".key"));
  return grpc::CreateChannel(admin_endpoint(), grpc::SslCredentials(options));
}

std::unique_ptr<v1::KeyAdmin::Stub> BrokerProcess::AdminStub(const std::string& name) const {
  return v1::KeyAdmin::NewStub(AdminChannel(name));
}

std::unique_ptr<v1::KeyRelease::Stub> BrokerProcess::ReleaseStub() const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = Slurp(Path("ca.pem"));
  return v1::KeyRelease::NewStub(
      grpc::CreateChannel(release_endpoint(), grpc::SslCredentials(options)));
}

}  // namespace kb
