#ifndef KB_KEYBROKER_ADMIN_MACHINE_ADMIN_H_
#define KB_KEYBROKER_ADMIN_MACHINE_ADMIN_H_

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/admin/admin_runner.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/machine_key_state.h"
#include "keybroker/store/offline_revocations.h"

namespace kb {

// The admin API for machines: registered attestation keys, forgetting a machine, the deny list,
// and offline grace (grants in force, revocation and restoration; offline_grace_admin.cc).
// Dependencies are not owned. Thread-safe.
class MachineAdmin {
 public:
  struct Deps {
    AdminRunner* run;
    AttestationKeyRegistry* aks;
    MachineDenyList* denylist;
    KeyStore* keys;                             // a revocation names an existing key
    OfflineRevocations* revocations = nullptr;  // null: FAILED_PRECONDITION
    OfflineGrants* grants = nullptr;            // ListOfflineGrants; null: FAILED_PRECONDITION
    ForgottenMachines* forgotten = nullptr;     // ForgetMachine; null: FAILED_PRECONDITION
  };
  explicit MachineAdmin(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::AttestationKeyInfo> RegisterAttestationKey(
      const v1::RegisterAttestationKeyRequest& r, Caller caller);
  absl::StatusOr<v1::ListAttestationKeysResponse> ListAttestationKeys(
      const v1::ListAttestationKeysRequest& r, Caller caller);
  absl::StatusOr<v1::AttestationKeyInfo> RemoveAttestationKey(
      const v1::RemoveAttestationKeyRequest& r, Caller caller);
  absl::StatusOr<v1::ForgetMachineResponse> ForgetMachine(const v1::ForgetMachineRequest& r,
                                                          Caller caller);
  absl::StatusOr<v1::DeniedMachine> DenyMachine(const v1::DenyMachineRequest& r, Caller caller);
  absl::StatusOr<v1::AllowMachineResponse> AllowMachine(const v1::AllowMachineRequest& r,
                                                        Caller caller);
  absl::StatusOr<v1::ListDeniedMachinesResponse> ListDeniedMachines(
      const v1::ListDeniedMachinesRequest& r, Caller caller);
  absl::StatusOr<v1::OfflineRevocation> RevokeOfflineGrant(const v1::RevokeOfflineGrantRequest& r,
                                                           Caller caller);
  absl::StatusOr<v1::RestoreOfflineGrantResponse> RestoreOfflineGrant(
      const v1::RestoreOfflineGrantRequest& r, Caller caller);
  absl::StatusOr<v1::ListOfflineGrantsResponse> ListOfflineGrants(
      const v1::ListOfflineGrantsRequest& r, Caller caller);

 private:
  absl::StatusOr<v1::AttestationKeyInfo> DoRegister(const v1::RegisterAttestationKeyRequest& r);

  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_MACHINE_ADMIN_H_
