#include "bench/bare_server.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "tests/support/child_process.h"

namespace kb {

bool StartBare(const std::string& dir, pid_t* pid, int* port, bool noop_release) {
  int out[2];
  if (pipe(out) != 0) return false;
  // bare_tls_server is built beside this binary.
  char self[4096] = {};
  (void)!readlink("/proc/self/exe", self, sizeof self - 1);
  std::string bin = self;
  bin = bin.substr(0, bin.rfind('/')) + "/bare_tls_server";
  std::vector<std::string> argv = {bin, dir + "/server.pem", dir + "/server.key"};
  if (noop_release) argv.insert(argv.begin() + 1, "--noop-release");
  *pid = kb::SpawnTiedToParent(argv, out[1]);
  close(out[1]);
  char buf[64] = {};
  const ssize_t n = read(out[0], buf, sizeof buf - 1);
  close(out[0]);
  return n > 5 && absl::SimpleAtoi(absl::string_view(buf + 5, n - 6), port);
}

}  // namespace kb
