#ifndef KB_UNLOCKER_FLOW_AK_ACTIVATION_FLOW_H_
#define KB_UNLOCKER_FLOW_AK_ACTIVATION_FLOW_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "unlocker/client/ak_activation_client.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/tpm/tpm.h"
#include "unlocker/tpm/tpm_endorsement.h"

namespace kb {

// Opens an AkActivationClient to one endpoint (injected so tests can use an in-process broker).
using AkActivationConnector =
    std::function<absl::StatusOr<std::unique_ptr<AkActivationClient>>(const std::string& endpoint)>;

struct AkActivationResult {
  std::string machine;  // what the broker registered the AK under
  bool newly_registered = false;
  std::string endpoint;  // the broker that did it
};

// Proves the AK of `tpm` to the broker through the TPM's EK certificate ("kbunlock enroll
// --ak-trust ek"): reads the certificate, asks the first endpoint (in order) that answers for a
// credential made for the AK, recovers it with TPM2_ActivateCredential and hands it back, upon
// which the broker trusts the AK. Errors carry exit codes: kTpmUnavailable (no EK certificate,
// TPM failure), kBrokerUnreachable (no endpoint answered), kDenied (the broker refused).
absl::StatusOr<AkActivationResult> ActivateAkThroughEk(Tpm& tpm, TpmEndorsement& endorsement,
                                                       const AkActivationConnector& connect,
                                                       const std::vector<std::string>& endpoints,
                                                       const Progress& progress);

// Whether `status` is the broker refusing a release because it does not trust the AK
// (evidence check "ak_trusted"): the case in which an EK-trusted volume re-runs the activation.
bool IsAkNotTrusted(const absl::Status& status);

// The token's "ak_trust" value for AKs proven through the EK.
inline constexpr char kAkTrustEk[] = "ek";

// Runs the EK activation against `endpoints` (bound to the TPM and connector by the caller);
// errors carry exit codes as ActivateAkThroughEk's.
using AkActivator = std::function<absl::Status(const std::vector<std::string>& endpoints)>;

// Before an enrolment's release: runs `activate` when `ak_trust` is "ek", nothing when it is
// empty. INVALID_ARGUMENT (exit code kUsage) for another value or a missing activator.
absl::Status ActivateForEnrolment(const std::string& ak_trust, const AkActivator& activate,
                                  const std::vector<std::string>& endpoints);

}  // namespace kb

#endif  // KB_UNLOCKER_FLOW_AK_ACTIVATION_FLOW_H_
