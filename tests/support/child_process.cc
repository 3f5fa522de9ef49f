#include "tests/support/child_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace kb {

pid_t SpawnTiedToParent(const std::vector<std::string>& argv, int output_fd) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  dup2(output_fd, STDOUT_FILENO);
  dup2(output_fd, STDERR_FILENO);
  execvp(args[0], args.data());
  _exit(127);
}

}  // namespace kb
