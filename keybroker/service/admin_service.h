#ifndef KB_KEYBROKER_SERVICE_ADMIN_SERVICE_H_
#define KB_KEYBROKER_SERVICE_ADMIN_SERVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "kb/v1/admin.pb.h"
#include "kb/v1/policy.pb.h"
#include "keybroker/collateral/collateral_admin.h"
#include "keybroker/service/roles.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/machine_key_state.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/verifiers/api/evidence_verifier.h"

namespace kb {

// The operator-facing admin operations as plain C++ over protos. `caller` is the
// authenticated client certificate. Each call first checks the caller's role (RoleMap):
// PERMISSION_DENIED names the role needed. Every call that changes state, and every denial, is
// audited; an action that cannot be audited fails with UNAVAILABLE. Key bytes never leave.
// Error contracts per RPC are in proto/kb/v1/admin.proto. Dependencies are not owned.
// Thread-safe.
class AdminService {
 public:
  struct Deps {
    KeyStore* keys;
    AttestationKeyRegistry* aks;
    AuditLog* audit;
    MachineDenyList* denylist;
    const RoleMap* roles;
    const Clock* clock;
    EvidenceVerifier* verifier = nullptr;       // TestPolicy (dry runs only)
    OfflineRevocations* revocations = nullptr;  // Revoke/RestoreOfflineGrant
    // Guests' enrolment confirmations (GetRotationStatus, RetireKeyVersion); null: none.
    EnrolmentConfirmations* confirmations = nullptr;
    OfflineGrants* grants = nullptr;  // ListOfflineGrants; null: FAILED_PRECONDITION
    // The operator-managed collateral cache (Import/List/DeleteCollateral); null:
    // FAILED_PRECONDITION.
    CollateralAdmin* collateral = nullptr;
  };
  explicit AdminService(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::KeyMetadata> CreateKey(const v1::CreateKeyRequest& r, Caller caller);
  absl::StatusOr<v1::ListKeysResponse> ListKeys(const v1::ListKeysRequest& r, Caller caller);
  absl::StatusOr<v1::KeyMetadata> GetKey(const v1::GetKeyRequest& r, Caller caller);
  absl::StatusOr<v1::SetPolicyResponse> SetPolicy(const v1::SetPolicyRequest& r, Caller caller);
  absl::StatusOr<v1::GetPolicyResponse> GetPolicy(const v1::GetPolicyRequest& r, Caller caller);
  absl::StatusOr<v1::AttestationKeyInfo> RegisterAttestationKey(
      const v1::RegisterAttestationKeyRequest& r, Caller caller);
  absl::StatusOr<v1::ListAttestationKeysResponse> ListAttestationKeys(
      const v1::ListAttestationKeysRequest& r, Caller caller);
  absl::StatusOr<v1::KeyMetadata> DisableKey(const v1::DisableKeyRequest& r, Caller caller);
  absl::StatusOr<v1::ListAuditEventsResponse> ListAuditEvents(const v1::ListAuditEventsRequest& r,
                                                              Caller caller);
  // Key lifecycle and revocation (admin_lifecycle.cc).
  absl::StatusOr<v1::KeyMetadata> RotateKey(const v1::RotateKeyRequest& r, Caller caller);
  absl::StatusOr<v1::KeyMetadata> RetireKeyVersion(const v1::RetireKeyVersionRequest& r,
                                                   Caller caller);
  absl::StatusOr<v1::GetRotationStatusResponse> GetRotationStatus(
      const v1::GetRotationStatusRequest& r, Caller caller);
  absl::StatusOr<v1::DeniedMachine> DenyMachine(const v1::DenyMachineRequest& r, Caller caller);
  absl::StatusOr<v1::AllowMachineResponse> AllowMachine(const v1::AllowMachineRequest& r,
                                                        Caller caller);
  absl::StatusOr<v1::ListDeniedMachinesResponse> ListDeniedMachines(
      const v1::ListDeniedMachinesRequest& r, Caller caller);
  // Offline-grace revocation (admin_lifecycle.cc).
  absl::StatusOr<v1::OfflineRevocation> RevokeOfflineGrant(const v1::RevokeOfflineGrantRequest& r,
                                                           Caller caller);
  absl::StatusOr<v1::RestoreOfflineGrantResponse> RestoreOfflineGrant(
      const v1::RestoreOfflineGrantRequest& r, Caller caller);
  // Offline grants and revocations in force (admin_machine_keys.cc).
  absl::StatusOr<v1::ListOfflineGrantsResponse> ListOfflineGrants(
      const v1::ListOfflineGrantsRequest& r, Caller caller);
  // The collateral cache (admin_collateral.cc).
  absl::StatusOr<v1::ImportCollateralResponse> ImportCollateral(
      const v1::ImportCollateralRequest& r, Caller caller);
  absl::StatusOr<v1::ListCollateralResponse> ListCollateral(const v1::ListCollateralRequest& r,
                                                            Caller caller);
  absl::StatusOr<v1::DeleteCollateralResponse> DeleteCollateral(
      const v1::DeleteCollateralRequest& r, Caller caller);
  // Release dry run (admin_policy_test.cc).
  absl::StatusOr<v1::TestPolicyResponse> TestPolicy(const v1::TestPolicyRequest& r, Caller caller);
  // The audit chain (admin_audit.cc).
  absl::StatusOr<v1::VerifyAuditChainResponse> VerifyAuditChain(
      const v1::VerifyAuditChainRequest& r, Caller caller);

 private:
  // One admin call: what it is, who makes it, what it needs.
  struct Call {
    absl::string_view action;  // audit action, e.g. "create_key"
    const AdminCaller& caller;
    Permission needs;
    absl::string_view key_id;
    bool audit_success = true;  // false for pure reads: only denials are recorded
  };
  // What a successful call adds to its audit record.
  struct Outcome {
    std::string detail;
    uint32_t key_version = 0;
  };

  // Checks the role, runs `body(Outcome&)` and audits the result; returns the result, or
  // UNAVAILABLE if the audit log cannot record it.
  template <typename T, typename F>
  absl::StatusOr<T> Run(const Call& call, F&& body);
  absl::Status Record(const Call& call, const Outcome& outcome, const absl::Status& result);

  absl::StatusOr<v1::KeyMetadata> Metadata(absl::string_view key_id);
  absl::StatusOr<v1::KeyMetadata> DoCreateKey(const v1::CreateKeyRequest& r);
  absl::StatusOr<v1::AttestationKeyInfo> DoRegister(const v1::RegisterAttestationKeyRequest& r);
  absl::StatusOr<v1::KeyMetadata> DoRotate(const v1::RotateKeyRequest& r, Outcome& outcome);
  absl::StatusOr<v1::TestPolicyResponse> DoTestPolicy(const v1::TestPolicyRequest& r,
                                                      Outcome& outcome);
  // The candidate policy of `r`, else the key's stored one (recorded in `out`).
  absl::StatusOr<v1::ReleasePolicy> PolicyUnderTest(const v1::TestPolicyRequest& r,
                                                    v1::TestPolicyResponse& out);
  absl::StatusOr<v1::KeyMetadata> DoRetire(const v1::RetireKeyVersionRequest& r, Outcome& outcome);
  // Per machine (by name), the version of `key_id` it uses: its confirmed enrolment, else its
  // latest allowed release (admin_machine_keys.cc).
  absl::StatusOr<std::vector<v1::MachineRelease>> MachineVersions(absl::string_view key_id);

  Deps d_;
  absl::Mutex policy_mu_;  // SetPolicy: expected_version check and store are one step
};

template <typename T, typename F>
absl::StatusOr<T> AdminService::Run(const Call& call, F&& body) {
  Outcome outcome;
  absl::StatusOr<T> result = [&]() -> absl::StatusOr<T> {
    RETURN_IF_ERROR(d_.roles->Check(call.caller, call.needs, call.action));
    return body(outcome);
  }();
  if (result.ok() && !call.audit_success) return result;
  RETURN_IF_ERROR(Record(call, outcome, result.status()));
  return result;
}

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_ADMIN_SERVICE_H_
