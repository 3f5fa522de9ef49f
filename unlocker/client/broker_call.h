#ifndef KB_UNLOCKER_CLIENT_BROKER_CALL_H_
#define KB_UNLOCKER_CLIENT_BROKER_CALL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "unlocker/unary_grpc/unary_channel.h"

namespace kb {

// The guest's side of a broker connection, shared by its clients.

// One broker as a guest client sees it.
struct BrokerEndpoint {
  std::string address;     // "host:port"
  std::string ca_pem;      // the only CA the broker's certificate may chain to
  std::string ca_file;     // where ca_pem came from, for messages
  absl::Duration timeout;  // per call
};

// A failed call's `status` with its code kept and its message prefixed with "broker <address>: ",
// or "broker <address> unreachable: " for UNAVAILABLE and DEADLINE_EXCEEDED. When the broker's
// certificate did not verify, a BrokerCertificateError (tls_diagnosis.h) that says why: a wrong
// CA, a certificate not yet valid or expired against this guest's clock, or a name the
// certificate does not list.
absl::Status BrokerCallError(const BrokerEndpoint& broker, const absl::Status& status);

// Calls the unary method at `path` ("/kb.v1.Service/Method") with `request`, bounded by
// `broker.timeout`; the response, or the error as BrokerCallError gives it. A response that does
// not parse is INTERNAL.
template <typename Response, typename Request>
absl::StatusOr<Response> CallBroker(const BrokerEndpoint& broker, unary_grpc::UnaryChannel& channel,
                                    absl::string_view path, const Request& request) {
  absl::StatusOr<std::string> bytes =
      channel.Call(path, request.SerializeAsString(), broker.timeout);
  if (!bytes.ok()) return BrokerCallError(broker, bytes.status());
  Response response;
  if (!response.ParseFromString(*bytes)) {
    return BrokerCallError(broker, absl::InternalError(absl::StrCat(
                                       "the answer to ", path, " is not a ",
                                       Response::default_instance().GetTypeName(), " message")));
  }
  return response;
}

// A channel to `broker`, or the reason none can be made (an endpoint that is not host:port, a
// CA file without a certificate) in BrokerCallError's words.
absl::StatusOr<std::unique_ptr<unary_grpc::UnaryChannel>> BrokerChannel(
    const BrokerEndpoint& broker);

}  // namespace kb

#endif  // KB_UNLOCKER_CLIENT_BROKER_CALL_H_
