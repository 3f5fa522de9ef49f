#ifndef KB_TESTS_SUPPORT_CHILD_PROCESS_H_
#define KB_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace kb {

// Starts `argv` (argv[0] a path, or a name looked up in PATH) with its stdout and stderr on
// `output_fd`, killed with SIGKILL when the calling thread's process dies. Returns its pid, or
// -1. Everything the child needs is made before fork(), and the child then makes
// async-signal-safe calls only: test processes have threads, and a forked child that allocates
// can deadlock on a lock another thread held (GCC 12's ASan takes no allocator locks around
// fork: a 900 s hang in CI). For a command that is waited for, RunCommand (posix_spawn).
pid_t SpawnTiedToParent(const std::vector<std::string>& argv, int output_fd);

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_CHILD_PROCESS_H_
