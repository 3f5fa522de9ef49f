// keybrokerctl: the operator CLI over the broker's KeyAdmin API; the composition root.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/grpc/library_logs.h"
#include "common/version.h"
#include "keybroker/ctl/admin_client.h"
#include "keybroker/ctl/commands.h"
#include "keybroker/ctl/ctl_args.h"
#include "keybroker/ctl/ctl_config.h"
#include "keybroker/ctl/policy_edit_commands.h"
#include "keybroker/ctl/verify_evidence.h"

namespace kb {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

std::optional<std::string> GetEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

int UsageError(const absl::Status& status, const std::vector<std::string>& args) {
  std::fprintf(stderr, "keybrokerctl: %s\n%s\n", std::string(status.message()).c_str(),
               CtlUsageHint(args).c_str());
  return kExitUsage;
}

int LocalError(const absl::Status& status) {
  std::fprintf(stderr, "keybrokerctl: %s\n", std::string(status.message()).c_str());
  return kExitUsage;
}

int BrokerError(const absl::Status& status) {
  std::fprintf(stderr, "keybrokerctl: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return kExitRefused;
}

int Run(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::printf("keybrokerctl %s\n", kVersion);
    return kExitOk;
  }
  // Offline: needs no broker connection (nor its flags).
  if (!args.empty() && args[0] == "verify-evidence") return RunVerifyEvidence(args);
  absl::StatusOr<CtlCommand> cmd = ParseCtlArgs(args, &GetEnv, &LoadCtlConfigFile);
  if (!cmd.ok()) return UsageError(cmd.status(), args);
  if (cmd->kind == CtlCommandKind::kHelp) {
    std::fputs(CtlUsage().c_str(), stdout);
    return kExitOk;
  }
  absl::StatusOr<CtlLocalInputs> inputs = LoadCtlLocalInputs(*cmd);
  if (!inputs.ok()) return LocalError(inputs.status());
  absl::StatusOr<CtlTlsMaterial> tls = LoadCtlTlsMaterial(cmd->connection);
  if (!tls.ok()) return LocalError(tls.status());
  SilenceGrpcLogs();
  std::unique_ptr<AdminClient> client = AdminClient::Connect(cmd->connection, *tls);
  absl::StatusOr<CtlOutput> out = RunCtlCommand(*cmd, *inputs, *client);
  if (!out.ok() && IsLocalCtlError(out.status())) return LocalError(out.status());
  if (!out.ok()) return BrokerError(out.status());
  std::fwrite(out->text.data(), 1, out->text.size(), stdout);
  if (std::fflush(stdout) != 0) {
    std::fputs("keybrokerctl: cannot write to stdout\n", stderr);
    return kExitRefused;
  }
  if (!out->failure.ok()) return BrokerError(out->failure);
  return kExitOk;
}

}  // namespace
}  // namespace kb

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kb::Run(args);
}
