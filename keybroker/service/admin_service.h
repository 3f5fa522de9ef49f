#ifndef KB_KEYBROKER_SERVICE_ADMIN_SERVICE_H_
#define KB_KEYBROKER_SERVICE_ADMIN_SERVICE_H_

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/key_store.h"

namespace kb {

// The operator-facing admin operations as plain C++ over protos. `actor` is the authenticated
// operator (client certificate subject). Every call, successful or not, is audited. Key bytes
// never leave. Dependencies are not owned. Thread-safe.
class AdminService {
 public:
  struct Deps {
    KeyStore* keys;
    AttestationKeyRegistry* aks;
    AuditLog* audit;
    const Clock* clock;
  };
  explicit AdminService(Deps deps) : d_(deps) {}

  absl::StatusOr<v1::KeyMetadata> CreateKey(const v1::CreateKeyRequest& r, absl::string_view actor);
  absl::StatusOr<v1::ListKeysResponse> ListKeys(const v1::ListKeysRequest& r,
                                                absl::string_view actor);
  absl::StatusOr<v1::KeyMetadata> GetKey(const v1::GetKeyRequest& r, absl::string_view actor);
  absl::StatusOr<v1::SetPolicyResponse> SetPolicy(const v1::SetPolicyRequest& r,
                                                  absl::string_view actor);
  absl::StatusOr<v1::GetPolicyResponse> GetPolicy(const v1::GetPolicyRequest& r,
                                                  absl::string_view actor);
  absl::StatusOr<v1::AttestationKeyInfo> RegisterAttestationKey(
      const v1::RegisterAttestationKeyRequest& r, absl::string_view actor);
  absl::StatusOr<v1::ListAttestationKeysResponse> ListAttestationKeys(
      const v1::ListAttestationKeysRequest& r, absl::string_view actor);
  absl::StatusOr<v1::KeyMetadata> DisableKey(const v1::DisableKeyRequest& r,
                                             absl::string_view actor);
  absl::StatusOr<v1::ListAuditEventsResponse> ListAuditEvents(const v1::ListAuditEventsRequest& r,
                                                              absl::string_view actor);

 private:
  // Appends an audit record for `action` with the outcome of `result`; returns `result`, or
  // UNAVAILABLE if the audit log cannot record it.
  template <typename T>
  absl::StatusOr<T> Audited(absl::string_view action, absl::string_view actor,
                            absl::string_view key_id, absl::string_view detail,
                            absl::StatusOr<T> result);
  absl::StatusOr<v1::KeyMetadata> DoCreateKey(const v1::CreateKeyRequest& r);
  absl::StatusOr<v1::AttestationKeyInfo> DoRegister(const v1::RegisterAttestationKeyRequest& r);

  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_ADMIN_SERVICE_H_
