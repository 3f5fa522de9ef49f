#include "kb/v1/ak_activation.grpc.pb.h"
#include "unlocker/client/ak_activation_client.h"
#include "unlocker/client/grpc_channel.h"

namespace kb {
namespace {

class GrpcAkActivationClient final : public AkActivationClient {
 public:
  GrpcAkActivationClient(std::string endpoint, std::shared_ptr<grpc::Channel> channel,
                         absl::Duration timeout)
      : endpoint_(std::move(endpoint)),
        stub_(v1::AttestationKeyActivation::NewStub(std::move(channel))),
        timeout_(timeout) {}

  absl::StatusOr<v1::StartActivationResponse> StartActivation(
      const v1::StartActivationRequest& request) override {
    return CallBroker(endpoint_, timeout_, *stub_, &Stub::StartActivation, request);
  }

  absl::StatusOr<v1::FinishActivationResponse> FinishActivation(
      const v1::FinishActivationRequest& request) override {
    return CallBroker(endpoint_, timeout_, *stub_, &Stub::FinishActivation, request);
  }

 private:
  using Stub = v1::AttestationKeyActivation::Stub;

  std::string endpoint_;
  std::unique_ptr<Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AkActivationClient>> ConnectAkActivation(const std::string& endpoint,
                                                                        const std::string& ca_pem,
                                                                        absl::Duration timeout) {
  return std::unique_ptr<AkActivationClient>(
      new GrpcAkActivationClient(endpoint, BrokerChannel(endpoint, ca_pem), timeout));
}

}  // namespace kb
