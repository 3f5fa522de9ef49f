#ifndef KB_KEYBROKER_CTL_ADMIN_CLIENT_H_
#define KB_KEYBROKER_CTL_ADMIN_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_status.h"
#include "common/secret_bytes.h"
#include "kb/v1/admin.grpc.pb.h"
#include "keybroker/ctl/ctl_args.h"

namespace kb {

// The PEM files of a mutual-TLS connection, read before any network traffic.
struct CtlTlsMaterial {
  std::string ca_pem;
  std::string cert_pem;
  SecretBytes key_pem;
};

// Reads the CA, certificate and key named by `conn`. NOT_FOUND / PERMISSION_DENIED with the
// path when a file is unreadable, INVALID_ARGUMENT when it is not PEM. All errors are local.
absl::StatusOr<CtlTlsMaterial> LoadCtlTlsMaterial(const CtlConnection& conn);

// Calls the KeyAdmin service with a deadline per call and explains transport failures.
// Thread-compatible.
class AdminClient {
 public:
  using Stub = v1::KeyAdmin::StubInterface;

  // Builds a lazily connecting mutual-TLS channel to conn.addr. Never fails: an unreachable
  // broker or a refused handshake shows up as UNAVAILABLE on the first call.
  static std::unique_ptr<AdminClient> Connect(const CtlConnection& conn, const CtlTlsMaterial& tls);

  // Wraps an existing stub (tests pass a mock); `channel` may be null.
  AdminClient(std::unique_ptr<Stub> stub, std::shared_ptr<grpc::Channel> channel, std::string addr,
              absl::Duration timeout)
      : stub_(std::move(stub)),
        channel_(std::move(channel)),
        addr_(std::move(addr)),
        timeout_(timeout) {}

  // Runs one unary RPC, e.g. Call(&Stub::ListKeys, request). Returns the broker's status
  // code and message; UNAVAILABLE "cannot reach broker at ADDR: ..." when the channel never
  // connected, DEADLINE_EXCEEDED naming the timeout when no answer came in time.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return Explain(status);
    return response;
  }

 private:
  absl::Status Explain(const grpc::Status& status) const;

  std::unique_ptr<Stub> stub_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string addr_;
  absl::Duration timeout_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_ADMIN_CLIENT_H_
