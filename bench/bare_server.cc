#include "bench/bare_server.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "tests/support/child_process.h"

namespace kb {

bool StartBenchServer(const std::string& binary, std::vector<std::string> args,
                      const std::string& dir, pid_t* pid, int* port) {
  int out[2];
  if (pipe(out) != 0) return false;
  // The servers are built beside this binary.
  char self[4096] = {};
  (void)!readlink("/proc/self/exe", self, sizeof self - 1);
  std::string bin = self;
  args.insert(args.begin(), bin.substr(0, bin.rfind('/')) + "/" + binary);
  args.push_back(dir + "/server.pem");
  args.push_back(dir + "/server.key");
  *pid = kb::SpawnTiedToParent(args, out[1]);
  close(out[1]);
  char buf[64] = {};
  const ssize_t n = read(out[0], buf, sizeof buf - 1);
  close(out[0]);
  return n > 5 && absl::SimpleAtoi(absl::string_view(buf + 5, n - 6), port);
}

bool StartBare(const std::string& dir, pid_t* pid, int* port, bool noop_release) {
  std::vector<std::string> args;
  if (noop_release) args.push_back("--noop-release");
  return StartBenchServer("bare_tls_server", std::move(args), dir, pid, port);
}

}  // namespace kb
