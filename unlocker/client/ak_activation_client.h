#ifndef KB_UNLOCKER_CLIENT_AK_ACTIVATION_CLIENT_H_
#define KB_UNLOCKER_CLIENT_AK_ACTIVATION_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kb/v1/ak_activation.pb.h"

namespace kb {

// The broker's AttestationKeyActivation API as the guest sees it. Errors keep the broker's
// status codes; transport failures are UNAVAILABLE or DEADLINE_EXCEEDED.
class AkActivationClient {
 public:
  virtual ~AkActivationClient() = default;
  virtual absl::StatusOr<v1::StartActivationResponse> StartActivation(
      const v1::StartActivationRequest& request) = 0;
  virtual absl::StatusOr<v1::FinishActivationResponse> FinishActivation(
      const v1::FinishActivationRequest& request) = 0;
};

// AttestationKeyActivation over TLS to one endpoint (the broker's release listener), verifying
// the broker against `ca_pem` only (read from `ca_file`, named when the broker's certificate is
// refused).
absl::StatusOr<std::unique_ptr<AkActivationClient>> ConnectAkActivation(
    const std::string& endpoint, const std::string& ca_pem, absl::Duration timeout,
    const std::string& ca_file = "the CA file");

}  // namespace kb

#endif  // KB_UNLOCKER_CLIENT_AK_ACTIVATION_CLIENT_H_
