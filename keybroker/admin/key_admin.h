#ifndef KB_KEYBROKER_ADMIN_KEY_ADMIN_H_
#define KB_KEYBROKER_ADMIN_KEY_ADMIN_H_

#include <vector>

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/admin/admin_runner.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_key_state.h"

namespace kb {

// The admin API for keys: create, list, read, disable, rotate, retire versions, and which
// version each machine uses. Key bytes never leave. Error contracts per RPC are in
// proto/kb/v1/admin.proto. Dependencies are not owned. Thread-safe.
class KeyAdmin {
 public:
  struct Deps {
    AdminRunner* run;
    KeyStore* keys;
    AuditLog* audit;  // the machines' latest releases (rotation status, retirement)
    // Guests' enrolment confirmations (GetRotationStatus, RetireKeyVersion); null: none.
    EnrolmentConfirmations* confirmations = nullptr;
    // Machines an operator forgot: their earlier releases no longer count; null: none.
    ForgottenMachines* forgotten = nullptr;
  };
  explicit KeyAdmin(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::KeyMetadata> CreateKey(const v1::CreateKeyRequest& r, Caller caller);
  absl::StatusOr<v1::ListKeysResponse> ListKeys(const v1::ListKeysRequest& r, Caller caller);
  absl::StatusOr<v1::KeyMetadata> GetKey(const v1::GetKeyRequest& r, Caller caller);
  absl::StatusOr<v1::KeyMetadata> DisableKey(const v1::DisableKeyRequest& r, Caller caller);
  absl::StatusOr<v1::KeyMetadata> RotateKey(const v1::RotateKeyRequest& r, Caller caller);
  // Versions in use (key_versions.cc).
  absl::StatusOr<v1::KeyMetadata> RetireKeyVersion(const v1::RetireKeyVersionRequest& r,
                                                   Caller caller);
  absl::StatusOr<v1::GetRotationStatusResponse> GetRotationStatus(
      const v1::GetRotationStatusRequest& r, Caller caller);

 private:
  absl::StatusOr<v1::KeyMetadata> Metadata(absl::string_view key_id);
  absl::StatusOr<v1::KeyMetadata> DoCreateKey(const v1::CreateKeyRequest& r);
  absl::StatusOr<v1::KeyMetadata> DoRotate(const v1::RotateKeyRequest& r, AdminOutcome& outcome);
  absl::StatusOr<v1::KeyMetadata> DoRetire(const v1::RetireKeyVersionRequest& r,
                                           AdminOutcome& outcome);
  // Per machine (by name), the version of `key_id` it uses: its confirmed enrolment, else its
  // latest allowed release.
  absl::StatusOr<std::vector<v1::MachineRelease>> MachineVersions(absl::string_view key_id);

  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_KEY_ADMIN_H_
