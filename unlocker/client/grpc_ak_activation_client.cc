#include "kb/v1/ak_activation.grpc.pb.h"
#include "unlocker/client/ak_activation_client.h"
#include "unlocker/client/grpc_channel.h"

namespace kb {
namespace {

class GrpcAkActivationClient final : public AkActivationClient {
 public:
  explicit GrpcAkActivationClient(BrokerEndpoint broker)
      : broker_(std::move(broker)),
        channel_(BrokerChannel(broker_.address, broker_.ca_pem)),
        stub_(v1::AttestationKeyActivation::NewStub(channel_)) {}

  absl::StatusOr<v1::StartActivationResponse> StartActivation(
      const v1::StartActivationRequest& request) override {
    return CallBroker(broker_, *channel_, *stub_, &Stub::StartActivation, request);
  }

  absl::StatusOr<v1::FinishActivationResponse> FinishActivation(
      const v1::FinishActivationRequest& request) override {
    return CallBroker(broker_, *channel_, *stub_, &Stub::FinishActivation, request);
  }

 private:
  using Stub = v1::AttestationKeyActivation::Stub;

  BrokerEndpoint broker_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AkActivationClient>> ConnectAkActivation(
    const std::string& endpoint, const std::string& ca_pem, absl::Duration timeout,
    const std::string& ca_file) {
  return std::unique_ptr<AkActivationClient>(
      new GrpcAkActivationClient({endpoint, ca_pem, ca_file, timeout}));
}

}  // namespace kb
