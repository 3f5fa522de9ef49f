#ifndef KB_BENCH_BARE_SERVER_H_
#define KB_BENCH_BARE_SERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace kb {

// Starts `binary` (built beside the calling bench) with `args` then `dir`'s server.pem and
// server.key; its pid and the port it prints ("port N"). False if it did not start.
bool StartBenchServer(const std::string& binary, std::vector<std::string> args,
                      const std::string& dir, pid_t* pid, int* port);

// Starts bare_tls_server (built beside the calling bench) with `dir`'s server.pem/key; its pid
// and port. `noop_release`: it also answers GetChallenge and ReleaseKey, doing nothing else.
bool StartBare(const std::string& dir, pid_t* pid, int* port, bool noop_release = false);

}  // namespace kb

#endif  // KB_BENCH_BARE_SERVER_H_
