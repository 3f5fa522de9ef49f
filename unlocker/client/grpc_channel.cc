#include "unlocker/client/grpc_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_status.h"

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

absl::Status BrokerCallError(const std::string& endpoint, const grpc::Status& status) {
  absl::Status s = FromGrpcStatus(status);
  const bool unreachable = absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
  return absl::Status(s.code(), absl::StrCat("broker ", endpoint,
                                             unreachable ? " unreachable: " : ": ", s.message()));
}

}  // namespace kb
