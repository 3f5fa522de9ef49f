#ifndef KB_BENCH_LOOPBACK_SERVER_H_
#define KB_BENCH_LOOPBACK_SERVER_H_

#include <grpcpp/server_builder.h>

#include <string>

namespace kb {

// Which listener accepts the bench server's connections: gRPC's own, or keybrokerd's
// (GuardedListener with its default caps, handing each connection to gRPC as keybrokerd does).
enum class BenchListener { kGrpc, kKeybrokerd };

// Serves `builder`'s services over TLS (`cert_pem`, `key_pem`) on 127.0.0.1 with keybrokerd's
// channel arguments (and, as keybrokerd, no abseil deadlock detection), prints "port N" on stdout
// and serves until killed. The bench servers' main(): 1 if the server did not start.
int ServeOnLoopback(grpc::ServerBuilder& builder, const std::string& cert_pem,
                    const std::string& key_pem, BenchListener listener = BenchListener::kGrpc);

}  // namespace kb

#endif  // KB_BENCH_LOOPBACK_SERVER_H_
