#ifndef KB_KEYBROKER_SERVER_GRPC_SERVICES_H_
#define KB_KEYBROKER_SERVER_GRPC_SERVICES_H_

#include <functional>

#include "common/sync/worker_pool.h"
#include "kb/v1/admin.grpc.pb.h"
#include "kb/v1/release.grpc.pb.h"
#include "keybroker/admin/admin_api.h"
#include "keybroker/service/release_service.h"

namespace kb {

// Thin gRPC adapters: unpack the call, run the plain C++ service, convert the status once.

// The guest-facing service on gRPC's callback API: the handler runs inline on gRPC's event
// threads (it never blocks on anything but the local store), which avoids the sync server's
// thread hand-offs on the release hot path. Its methods are raw (bytes in, bytes out) so that
// the adapter parses requests itself and answers a malformed one INVALID_ARGUMENT.
using KeyReleaseRawService = v1::KeyRelease::WithRawCallbackMethod_GetChallenge<
    v1::KeyRelease::WithRawCallbackMethod_ReleaseKey<
        v1::KeyRelease::WithRawCallbackMethod_ConfirmEnrolment<v1::KeyRelease::Service>>>;
class KeyReleaseGrpc final : public KeyReleaseRawService {
 public:
  explicit KeyReleaseGrpc(ReleaseService* core) : core_(core) {}
  grpc::ServerUnaryReactor* GetChallenge(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ReleaseKey(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ConfirmEnrolment(grpc::CallbackServerContext* ctx,
                                             const grpc::ByteBuffer* request,
                                             grpc::ByteBuffer* response) override;

 private:
  ReleaseService* core_;
};

// Every method of the admin API: the service of its resource (a member of AdminApi), the
// method, its request and its response.
#define KB_ADMIN_METHODS(X)                                                                 \
  X(keys, CreateKey, CreateKeyRequest, KeyMetadata)                                         \
  X(keys, ListKeys, ListKeysRequest, ListKeysResponse)                                      \
  X(keys, GetKey, GetKeyRequest, KeyMetadata)                                               \
  X(policies, SetPolicy, SetPolicyRequest, SetPolicyResponse)                               \
  X(policies, GetPolicy, GetPolicyRequest, GetPolicyResponse)                               \
  X(machines, RegisterAttestationKey, RegisterAttestationKeyRequest, AttestationKeyInfo)    \
  X(machines, ListAttestationKeys, ListAttestationKeysRequest, ListAttestationKeysResponse) \
  X(machines, RemoveAttestationKey, RemoveAttestationKeyRequest, AttestationKeyInfo)        \
  X(machines, ForgetMachine, ForgetMachineRequest, ForgetMachineResponse)                   \
  X(keys, DisableKey, DisableKeyRequest, KeyMetadata)                                       \
  X(audit, ListAuditEvents, ListAuditEventsRequest, ListAuditEventsResponse)                \
  X(keys, RotateKey, RotateKeyRequest, KeyMetadata)                                         \
  X(keys, RetireKeyVersion, RetireKeyVersionRequest, KeyMetadata)                           \
  X(keys, GetRotationStatus, GetRotationStatusRequest, GetRotationStatusResponse)           \
  X(machines, DenyMachine, DenyMachineRequest, DeniedMachine)                               \
  X(machines, AllowMachine, AllowMachineRequest, AllowMachineResponse)                      \
  X(machines, ListDeniedMachines, ListDeniedMachinesRequest, ListDeniedMachinesResponse)    \
  X(audit, VerifyAuditChain, VerifyAuditChainRequest, VerifyAuditChainResponse)             \
  X(policies, TestPolicy, TestPolicyRequest, TestPolicyResponse)                            \
  X(machines, RevokeOfflineGrant, RevokeOfflineGrantRequest, OfflineRevocation)             \
  X(machines, RestoreOfflineGrant, RestoreOfflineGrantRequest, RestoreOfflineGrantResponse) \
  X(machines, ListOfflineGrants, ListOfflineGrantsRequest, ListOfflineGrantsResponse)       \
  X(collateral, ImportCollateral, ImportCollateralRequest, ImportCollateralResponse)        \
  X(collateral, ListCollateral, ListCollateralRequest, ListCollateralResponse)              \
  X(collateral, DeleteCollateral, DeleteCollateralRequest, DeleteCollateralResponse)        \
  X(keks, ListKeks, ListKeksRequest, ListKeksResponse)                                      \
  X(keks, RotateKek, RotateKekRequest, RotateKekResponse)

// The admin service with every method raw (bytes in, bytes out), so that the adapter parses
// requests itself and answers a malformed one INVALID_ARGUMENT naming the message; and no method
// left synchronous (grpc_services_test checks it).
#define KB_RAW_ADMIN_OPEN(Resource, Name, Req, Resp) v1::KeyAdmin::WithRawCallbackMethod_##Name <
#define KB_RAW_ADMIN_CLOSE(Resource, Name, Req, Resp) >
using KeyAdminRawService = KB_ADMIN_METHODS(KB_RAW_ADMIN_OPEN) v1::KeyAdmin::Service
    KB_ADMIN_METHODS(KB_RAW_ADMIN_CLOSE);
#undef KB_RAW_ADMIN_OPEN
#undef KB_RAW_ADMIN_CLOSE

// The caller of an admin call is the verified client certificate: its subject (the audit
// actor) and common name, which the AdminRunner maps to roles. On gRPC's callback API, as every
// service of keybrokerd (a sync service would add its own polling threads, which measurably cost
// every release; docs/performance.md); each call runs on `workers`, not on gRPC's threads, and
// is answered RESOURCE_EXHAUSTED when the pool's queue is full. A queued call that is cancelled
// before a worker takes it (its deadline passed, its caller went away, the server shut down)
// is not run. One already running is not interrupted: it finishes its work (and audits it)
// even if its caller was told DEADLINE_EXCEEDED meanwhile.
class KeyAdminGrpc final : public KeyAdminRawService {
 public:
  KeyAdminGrpc(AdminApi api, WorkerPool* workers) : api_(api), workers_(workers) {}
#define KB_ADMIN_RPC(Resource, Name, Req, Resp)                                               \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* ctx,                            \
                                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response) \
      override;
  KB_ADMIN_METHODS(KB_ADMIN_RPC)
#undef KB_ADMIN_RPC

 private:
  // Runs `call` on a worker and finishes the call with its status.
  grpc::ServerUnaryReactor* OnWorker(grpc::CallbackServerContext* ctx,
                                     std::function<grpc::Status()> call);
  AdminApi api_;
  WorkerPool* workers_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_GRPC_SERVICES_H_
