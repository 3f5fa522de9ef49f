#ifndef KB_UNLOCKER_CLIENT_GRPC_CHANNEL_H_
#define KB_UNLOCKER_CLIENT_GRPC_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kb {

// The guest's side of a broker connection, shared by its gRPC clients.

// A TLS channel to the broker at `endpoint`, verified against `ca_pem` only. Reconnects back off
// from 200 ms to at most 1 s: it fails fast and lets the caller's bound decide about retries.
std::shared_ptr<grpc::Channel> BrokerChannel(const std::string& endpoint,
                                             const std::string& ca_pem);

// One broker as a guest client sees it.
struct BrokerEndpoint {
  std::string address;     // "host:port"
  std::string ca_pem;      // the only CA the broker's certificate may chain to
  std::string ca_file;     // where ca_pem came from, for messages
  absl::Duration timeout;  // per call
};

// The failed call's `status` as an absl::Status with the same code, its message prefixed with
// "broker <address>: ", or "broker <address> unreachable: " for UNAVAILABLE and
// DEADLINE_EXCEEDED. When the broker's certificate did not verify, a BrokerCertificateError
// (tls_diagnosis.h) that says why: the chain is fetched again and explained (wrong CA, not yet
// valid or expired against this guest's clock, or a name the certificate does not list).
absl::Status BrokerCallError(const BrokerEndpoint& broker, const grpc::Status& status);

// Calls the unary `method` of `stub` (over `channel`) with `request` and a deadline
// `broker.timeout` from now; the response, or the error as BrokerCallError gives it. A deadline
// that passed before the channel ever connected is UNAVAILABLE ("no connection"), not a slow
// broker.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CallBroker(const BrokerEndpoint& broker, grpc::Channel& channel,
                                    Stub& stub,
                                    grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                 const Request&, Response*),
                                    const Request& request) {
  Response response;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + broker.timeout));
  grpc::Status status = (stub.*method)(&ctx, request, &response);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
      channel.GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
    status =
        grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     absl::StrCat("no connection within ", absl::FormatDuration(broker.timeout)));
  }
  if (!status.ok()) return BrokerCallError(broker, status);
  return response;
}

}  // namespace kb

#endif  // KB_UNLOCKER_CLIENT_GRPC_CHANNEL_H_
