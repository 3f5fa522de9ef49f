#ifndef KB_COMMON_GRPC_GRPC_STATUS_H_
#define KB_COMMON_GRPC_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace kb {

// The one conversion between absl::Status and grpc::Status (gRPC 1.51 has none). Codes map
// one to one; messages are passed through (they never carry secrets).
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace kb

#endif  // KB_COMMON_GRPC_GRPC_STATUS_H_
