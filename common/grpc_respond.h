#ifndef KB_COMMON_GRPC_RESPOND_H_
#define KB_COMMON_GRPC_RESPOND_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <utility>

#include "absl/status/statusor.h"
#include "common/grpc_status.h"

namespace kb {

// The server side of the thin gRPC adapters: a plain C++ handler's result as the call's answer.

// Moves the value of `result` into `response` and returns OK; or returns the error of `result`
// through ToGrpcStatus (and leaves `response` alone).
template <typename T>
grpc::Status Respond(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

// Finishes a unary call of the callback API at once with Respond(result, response); returns the
// reactor the handler hands back to gRPC.
template <typename T>
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* ctx, absl::StatusOr<T> result,
                                      T* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(Respond(std::move(result), response));
  return reactor;
}

}  // namespace kb

#endif  // KB_COMMON_GRPC_RESPOND_H_
