#include "keybroker/ak_activation/activation_grpc.h"

#include "common/grpc/grpc_respond.h"

namespace kb {

grpc::ServerUnaryReactor* AkActivationGrpc::StartActivation(grpc::CallbackServerContext* ctx,
                                                            const grpc::ByteBuffer* request,
                                                            grpc::ByteBuffer* response) {
  return FinishRawUnary<v1::StartActivationRequest, v1::StartActivationResponse>(
      ctx, request, response,
      [&](const v1::StartActivationRequest& r) { return core_->StartActivation(r, ctx->peer()); });
}

grpc::ServerUnaryReactor* AkActivationGrpc::FinishActivation(grpc::CallbackServerContext* ctx,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  return FinishRawUnary<v1::FinishActivationRequest, v1::FinishActivationResponse>(
      ctx, request, response, [&](const v1::FinishActivationRequest& r) {
        return core_->FinishActivation(r, ctx->peer());
      });
}

}  // namespace kb
