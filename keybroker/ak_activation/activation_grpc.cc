#include "keybroker/ak_activation/activation_grpc.h"

#include "common/grpc_respond.h"

namespace kb {

grpc::ServerUnaryReactor* AkActivationGrpc::StartActivation(
    grpc::CallbackServerContext* ctx, const v1::StartActivationRequest* request,
    v1::StartActivationResponse* response) {
  return FinishUnary(ctx, core_->StartActivation(*request, ctx->peer()), response);
}

grpc::ServerUnaryReactor* AkActivationGrpc::FinishActivation(
    grpc::CallbackServerContext* ctx, const v1::FinishActivationRequest* request,
    v1::FinishActivationResponse* response) {
  return FinishUnary(ctx, core_->FinishActivation(*request, ctx->peer()), response);
}

}  // namespace kb
