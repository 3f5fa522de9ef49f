#ifndef KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_GRPC_H_
#define KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_GRPC_H_

#include "kb/v1/ak_activation.grpc.pb.h"
#include "keybroker/ak_activation/activation_service.h"

namespace kb {

// Thin gRPC adapter of AkActivationService on the callback API, served on the release listener
// next to KeyRelease (the handlers only touch memory and the local store).
class AkActivationGrpc final : public v1::AttestationKeyActivation::CallbackService {
 public:
  explicit AkActivationGrpc(AkActivationService* core) : core_(core) {}
  grpc::ServerUnaryReactor* StartActivation(grpc::CallbackServerContext* ctx,
                                            const v1::StartActivationRequest* request,
                                            v1::StartActivationResponse* response) override;
  grpc::ServerUnaryReactor* FinishActivation(grpc::CallbackServerContext* ctx,
                                             const v1::FinishActivationRequest* request,
                                             v1::FinishActivationResponse* response) override;

 private:
  AkActivationService* core_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_GRPC_H_
