#ifndef KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_SERVICE_H_
#define KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_SERVICE_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/sync/mutex.h"
#include "kb/v1/ak_activation.pb.h"
#include "keybroker/ak_activation/ek_certificate.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/machine_denylist.h"

namespace kb {

// The machine name an EK-activated AK is registered under:
// "ek:" + hex of the first 8 bytes of SHA-256(EK SubjectPublicKeyInfo DER).
std::string EkMachineName(absl::string_view ek_spki_der);

// The AttestationKeyActivation service (proto/kb/v1/ak_activation.proto) as plain C++: trusts an
// AK that TPM2_ActivateCredential proves to live in the TPM of a certified EK, by registering it
// in the AK registry. Pending activations (a random 32-byte secret each, single use, expiring
// after `ttl`) live in memory: a broker restart drops them and the guest starts again.
// Dependencies are not owned and must outlive the service; `ek_verifier` may be null (the EK
// path is off). Thread-safe.
class AkActivationService {
 public:
  struct Deps {
    const EkCertificateVerifier* ek_verifier;
    AttestationKeyRegistry* aks;
    AuditLog* audit;
    MachineDenyList* denylist;
    const Clock* clock;
  };
  AkActivationService(Deps deps, absl::Duration ttl, size_t max_pending = 4096)
      : d_(deps), ttl_(ttl), max_pending_(max_pending) {}

  // See the error contract of StartActivation in ak_activation.proto. Denials are audited with
  // `peer` as the actor.
  absl::StatusOr<v1::StartActivationResponse> StartActivation(
      const v1::StartActivationRequest& request, absl::string_view peer);

  // See FinishActivation in ak_activation.proto. Consumes the activation whatever the outcome;
  // every outcome is audited.
  absl::StatusOr<v1::FinishActivationResponse> FinishActivation(
      const v1::FinishActivationRequest& request, absl::string_view peer);

 private:
  struct Pending {
    std::string machine;
    std::string ak_name;
    std::string ak_public;
    SecretBytes secret;
    absl::Time expires_at;
  };
  absl::StatusOr<v1::StartActivationResponse> Start(const v1::StartActivationRequest& request,
                                                    std::string* machine);
  absl::StatusOr<v1::FinishActivationResponse> Finish(const v1::FinishActivationRequest& request,
                                                      std::string* machine);
  absl::Status CheckMachineAllowed(const std::string& machine);
  absl::StatusOr<std::string> AddPending(Pending pending);
  absl::StatusOr<Pending> TakePending(const std::string& id);
  absl::StatusOr<v1::FinishActivationResponse> Register(const Pending& pending);
  void Audit(absl::string_view action, absl::string_view actor, const absl::Status& outcome,
             absl::string_view detail);

  Deps d_;
  absl::Duration ttl_;
  size_t max_pending_;
  kb::Mutex mu_;
  std::map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kb

#endif  // KB_KEYBROKER_AK_ACTIVATION_ACTIVATION_SERVICE_H_
