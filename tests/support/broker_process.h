#ifndef KB_TESTS_SUPPORT_BROKER_PROCESS_H_
#define KB_TESTS_SUPPORT_BROKER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kb/v1/admin.grpc.pb.h"
#include "kb/v1/release.grpc.pb.h"

namespace kb {

// A real keybrokerd process on 127.0.0.1 (ports chosen by the kernel), with a fresh test PKI
// (tests/integration/make_pki.sh), KEK, config and database in a temporary directory. Roles:
// "operator" (CN=operator-alice) is admin, "olivia" operator, "auditor" auditor, "norole" has
// none. The destructor stops it and removes the directory. Not thread-safe.
class BrokerProcess {
 public:
  struct Options {
    int challenge_ttl_seconds = 60;
    // BrokerConfig.ek_ca_files (absolute paths); empty: EK-based AK activation is off.
    std::vector<std::string> ek_ca_files;
    // More top-level members of the config, JSON without the braces (e.g.
    // R"("connection_limits":{"max_connections":50})").
    std::string extra_config;
    // The config's KEK member, JSON (e.g. R"("kek":{"pkcs11":{...}})"); empty: a kek_file
    // "kek" with 32 random bytes.
    std::string kek_config;
    // The config's store member, JSON (e.g. PostgresServer::StoreConfigJson()); empty: the
    // SQLite file "broker.db".
    std::string store_config;
  };
  static absl::StatusOr<std::unique_ptr<BrokerProcess>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<BrokerProcess>> Start() { return Start(Options()); }
  ~BrokerProcess();

  std::string release_endpoint() const;  // "127.0.0.1:<port>"
  pid_t pid() const { return pid_; }
  std::string admin_endpoint() const;
  const std::string& dir() const { return dir_; }  // PKI files: ca.pem, operator.pem, ...
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }

  // Admin channel and stub authenticated with the client cert `<name>.pem/.key` from the PKI.
  std::shared_ptr<grpc::Channel> AdminChannel(const std::string& name = "operator") const;
  std::unique_ptr<v1::KeyAdmin::Stub> AdminStub(const std::string& name = "operator") const;
  std::unique_ptr<v1::KeyRelease::Stub> ReleaseStub() const;

  // Stops keybrokerd (SIGTERM; SIGKILL if it has not exited 5 s later); Resume() starts it
  // again on the same database and ports. Its wait status (waitpid's), or -1 if it was not
  // running.
  int Stop();
  // Kills keybrokerd with SIGKILL (no shutdown path runs) and reaps it; Resume() restarts it.
  void Kill();
  absl::Status Resume();
  // The config's KEK member from the next Resume() on (Options::kek_config); the config file is
  // rewritten at once, so keybrokerd --check-config and --create-kek see it too.
  absl::Status SetKekConfig(std::string kek_config);

 private:
  explicit BrokerProcess(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Launch();
  absl::Status WriteConfig();

  std::string dir_;
  Options options_;
  pid_t pid_ = -1;
  int release_port_ = 0;
  int admin_port_ = 0;
};

// Runs a command, returning its exit code and combined stdout+stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// Path of a built binary ("keybrokerd", "kbunlock", "keybrokerctl", "kbunlock-software-snp")
// from KB_BINARY_DIR.
std::string BinaryPath(const std::string& name);
// A file in the source tree from KB_SOURCE_DIR.
std::string SourcePath(const std::string& relative);

// Writes the passphrase "correct horse battery staple" to `passphrase_file` and formats a new
// file `image` of `size` (as truncate(1) takes it, e.g. "32M") as LUKS2 with that passphrase in
// keyslot 0 (PBKDF2 with 1000 iterations: quick). INTERNAL with the tool's output on failure.
absl::Status MakeLuks2Image(const std::string& image, const std::string& passphrase_file,
                            const std::string& size);

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_BROKER_PROCESS_H_
