#ifndef KB_BENCH_COST_BREAKDOWN_H_
#define KB_BENCH_COST_BREAKDOWN_H_

#include <string>

#include "tests/fakes/software_tpm.h"

namespace kb {

// Microseconds per release of the broker's core without gRPC or TLS: ReleaseService over the
// SQLite stores keybrokerd opens (a file database: WAL, synchronous=FULL, real fsync) with the TPM
// quote verifier, one thread, GetChallenge + ReleaseKey with genuine software-TPM evidence, best
// of 5 batches of 100. Requests are built outside the timed region. Measured twice side by side,
// batches alternating: with the store's ReleaseReads (one lock, one read transaction; as
// keybrokerd runs) and with the same reads made one call each (SeparateReleaseReads). Aborts on
// any failure (a benchmark, not a test).
struct ServiceCoreFigures {
  double one_read;
  double reads_one_by_one;
};
ServiceCoreFigures ServiceCoreMicros(SoftwareTpm& tpm);

// Microseconds of CPU the server side of one full TLS 1.3 handshake costs with OpenSSL (the
// broker's certificate `cert_pem` / `key_pem`; both ends in memory, no sockets), the cost a new
// connection adds before any RPC.
double TlsServerHandshakeMicros(const std::string& cert_pem, const std::string& key_pem,
                                const std::string& ca_pem);

}  // namespace kb

#endif  // KB_BENCH_COST_BREAKDOWN_H_
