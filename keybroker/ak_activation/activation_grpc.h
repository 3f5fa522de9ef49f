#ifndef KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_GRPC_H_
#define KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_GRPC_H_

#include "kb/v1/ak_activation.grpc.pb.h"
#include "keybroker/ak_activation/activation_service.h"

namespace kb {

// Thin gRPC adapter of AkActivationService on the callback API, served on the release listener
// next to KeyRelease (the handlers only touch memory and the local store). Raw methods, like
// KeyRelease's: a malformed request is INVALID_ARGUMENT naming its message (FinishRawUnary).
using AkActivationRawService = v1::AttestationKeyActivation::WithRawCallbackMethod_StartActivation<
    v1::AttestationKeyActivation::WithRawCallbackMethod_FinishActivation<
        v1::AttestationKeyActivation::Service>>;
class AkActivationGrpc final : public AkActivationRawService {
 public:
  explicit AkActivationGrpc(AkActivationService* core) : core_(core) {}
  grpc::ServerUnaryReactor* StartActivation(grpc::CallbackServerContext* ctx,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* FinishActivation(grpc::CallbackServerContext* ctx,
                                             const grpc::ByteBuffer* request,
                                             grpc::ByteBuffer* response) override;

 private:
  AkActivationService* core_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_GRPC_H_
