// kbunlock: the guest-side unlocker. The command table is in commands.cc, the real components
// it is built from in wiring.cc.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/hardening.h"
#include "common/version.h"
#include "unlocker/commands.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/luks/cryptsetup_volume.h"

int main(int argc, char** argv) {
  // tpm2-tss logs expected failures (e.g. probing for an NV index) to stderr; on a boot console
  // that is noise. kbunlock reports every real failure itself. An explicit TSS2_LOG wins.
  setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
  // kbunlock reads keybroker tokens itself; libcryptsetup must not load token plugins into it.
  kb::DisableExternalTokenPlugins();
  // A broker that closes a connection while kbunlock writes to it is an error to report, not a
  // reason to die (the broker client sends with MSG_NOSIGNAL; this covers any other write).
  signal(SIGPIPE, SIG_IGN);
  if (absl::Status s = kb::DisableCoreDumps(); !s.ok()) {
    std::fprintf(stderr, "kbunlock: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::printf("kbunlock %s\n", kb::kVersion);
    return 0;
  }
  if (args.size() == 2 && args[0] == "help") {  // `kbunlock help unlock`
    return kb::kbunlock::Dispatch({args[1], "--help"}).ok() ? 0 : 2;
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kb::kbunlock::UsageText(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  absl::Status s = kb::kbunlock::Dispatch(args);
  if (s.ok()) return 0;
  if (kb::ExitCodeOf(s) == kb::ExitCode::kNoToken &&
      std::find(args.begin(), args.end(), "--quiet-if-no-token") != args.end()) {
    return static_cast<int>(kb::ExitCode::kNoToken);
  }
  std::fprintf(stderr, "kbunlock: %s: %s\n", kb::ExitCodeName(kb::ExitCodeOf(s)),
               std::string(s.message()).c_str());
  if (kb::ExitCodeOf(s) == kb::ExitCode::kUsage && s.code() == absl::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "run 'kbunlock help' for usage\n");
  }
  return static_cast<int>(kb::ExitCodeOf(s));
}
