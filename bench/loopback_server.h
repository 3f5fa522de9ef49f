#ifndef KB_BENCH_LOOPBACK_SERVER_H_
#define KB_BENCH_LOOPBACK_SERVER_H_

#include <grpcpp/server_builder.h>

#include <string>

namespace kb {

// The environment variable that makes ServeOnLoopback accept through keybrokerd's listener.
inline constexpr char kBenchListenerEnv[] = "KB_BENCH_LISTENER";

// Serves `builder`'s services over TLS (`cert_pem`, `key_pem`) on 127.0.0.1 with keybrokerd's
// channel arguments (and, as keybrokerd, no abseil deadlock detection), prints "port N" on stdout
// and serves until killed. The bench servers' main(): 1 if the server did not start. Connections
// are accepted by gRPC's own listener, or with KB_BENCH_LISTENER=guarded by keybrokerd's
// (GuardedListener with its default caps), which hands them to gRPC as keybrokerd does.
int ServeOnLoopback(grpc::ServerBuilder& builder, const std::string& cert_pem,
                    const std::string& key_pem);

}  // namespace kb

#endif  // KB_BENCH_LOOPBACK_SERVER_H_
