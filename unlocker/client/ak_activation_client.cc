#include "unlocker/client/ak_activation_client.h"

#include "unlocker/client/broker_call.h"

namespace kb {
namespace {

// AttestationKeyActivation's methods on the wire (proto/kb/v1/ak_activation.proto).
constexpr absl::string_view kStartActivation = "/kb.v1.AttestationKeyActivation/StartActivation";
constexpr absl::string_view kFinishActivation = "/kb.v1.AttestationKeyActivation/FinishActivation";

class UnaryAkActivationClient final : public AkActivationClient {
 public:
  UnaryAkActivationClient(BrokerEndpoint broker, std::unique_ptr<unary_grpc::UnaryChannel> channel)
      : broker_(std::move(broker)), channel_(std::move(channel)) {}

  absl::StatusOr<v1::StartActivationResponse> StartActivation(
      const v1::StartActivationRequest& request) override {
    return CallBroker<v1::StartActivationResponse>(broker_, *channel_, kStartActivation, request);
  }

  absl::StatusOr<v1::FinishActivationResponse> FinishActivation(
      const v1::FinishActivationRequest& request) override {
    return CallBroker<v1::FinishActivationResponse>(broker_, *channel_, kFinishActivation, request);
  }

 private:
  BrokerEndpoint broker_;
  std::unique_ptr<unary_grpc::UnaryChannel> channel_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AkActivationClient>> ConnectAkActivation(
    const std::string& endpoint, const std::string& ca_pem, absl::Duration timeout,
    const std::string& ca_file) {
  BrokerEndpoint broker{endpoint, ca_pem, ca_file, timeout};
  auto channel = BrokerChannel(broker);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<AkActivationClient>(
      new UnaryAkActivationClient(std::move(broker), *std::move(channel)));
}

}  // namespace kb
