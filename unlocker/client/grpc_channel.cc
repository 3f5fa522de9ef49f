#include "unlocker/client/grpc_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_status.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/client/tls_diagnosis.h"

namespace kb {

std::shared_ptr<grpc::Channel> BrokerChannel(const std::string& endpoint,
                                             const std::string& ca_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  grpc::ChannelArguments args;
  // Fail fast and let the caller's bound decide about retries.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(options), args);
}

namespace {

// gRPC 1.51 reports a server certificate its verification refused as UNAVAILABLE with
// OpenSSL's reason, or its own check of the name in the message.
bool IsCertificateRejection(const absl::Status& s) {
  const absl::string_view m = s.message();
  return absl::IsUnavailable(s) &&
         (absl::StrContains(m, "certificate verify failed") || absl::StrContains(m, "Peer name"));
}

std::string WhyCertificateRejected(const BrokerEndpoint& broker, const absl::Status& s) {
  if (absl::StrContains(s.message(), "Peer name")) {
    return absl::StrCat("the broker's certificate does not list the name or address ",
                        broker.address.substr(0, broker.address.rfind(':')),
                        " that this guest dials (its subjectAltName must)");
  }
  auto chain = FetchServerChain(broker.address, std::min(broker.timeout, absl::Seconds(5)));
  std::string why =
      chain.ok() ? ExplainCertificateFailure(*chain, broker.ca_pem, broker.ca_file, absl::Now())
                 : "";
  return why.empty() ? std::string(s.message()) : why;
}

}  // namespace

absl::Status BrokerCallError(const BrokerEndpoint& broker, const grpc::Status& status) {
  absl::Status s = FromGrpcStatus(status);
  if (IsCertificateRejection(s)) {
    return BrokerCertificateError(broker.address, WhyCertificateRejected(broker, s));
  }
  const bool unreachable = IsTransportFailure(s);
  return absl::Status(s.code(), absl::StrCat("broker ", broker.address,
                                             unreachable ? " unreachable: " : ": ", s.message()));
}

}  // namespace kb
