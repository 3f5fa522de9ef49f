#ifndef KB_COMMON_HARDENING_H_
#define KB_COMMON_HARDENING_H_

#include "absl/status/status.h"

namespace kb {

// Disables core dumps (RLIMIT_CORE = 0, PR_SET_DUMPABLE = 0) so key material in memory never
// reaches a core file or ptrace by an unprivileged peer. Call first thing in main().
absl::Status DisableCoreDumps();

}  // namespace kb

#endif  // KB_COMMON_HARDENING_H_
