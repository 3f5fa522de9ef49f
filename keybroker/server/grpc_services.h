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

// The caller of an admin call is the verified client certificate: its subject (the audit
// actor) and common name, which the AdminRunner maps to roles. On gRPC's callback API, as every
// service of keybrokerd (a sync service would add its own polling threads, which measurably cost
// every release; docs/performance.md); each call runs on `workers`, not on gRPC's threads, and
// is answered RESOURCE_EXHAUSTED when the pool's queue is full. A queued call that is cancelled
// before a worker takes it (its deadline passed, its caller went away, the server shut down)
// is not run. One already running is not interrupted: it finishes its work (and audits it)
// even if its caller was told DEADLINE_EXCEEDED meanwhile.
class KeyAdminGrpc final : public v1::KeyAdmin::CallbackService {
 public:
  KeyAdminGrpc(AdminApi api, WorkerPool* workers) : api_(api), workers_(workers) {}
#define KB_ADMIN_RPC(Name, Req, Resp)                                                      \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* ctx, const v1::Req* request, \
                                 v1::Resp* response) override;
  KB_ADMIN_RPC(CreateKey, CreateKeyRequest, KeyMetadata)
  KB_ADMIN_RPC(ListKeys, ListKeysRequest, ListKeysResponse)
  KB_ADMIN_RPC(GetKey, GetKeyRequest, KeyMetadata)
  KB_ADMIN_RPC(SetPolicy, SetPolicyRequest, SetPolicyResponse)
  KB_ADMIN_RPC(GetPolicy, GetPolicyRequest, GetPolicyResponse)
  KB_ADMIN_RPC(RegisterAttestationKey, RegisterAttestationKeyRequest, AttestationKeyInfo)
  KB_ADMIN_RPC(ListAttestationKeys, ListAttestationKeysRequest, ListAttestationKeysResponse)
  KB_ADMIN_RPC(DisableKey, DisableKeyRequest, KeyMetadata)
  KB_ADMIN_RPC(ListAuditEvents, ListAuditEventsRequest, ListAuditEventsResponse)
  KB_ADMIN_RPC(RotateKey, RotateKeyRequest, KeyMetadata)
  KB_ADMIN_RPC(RetireKeyVersion, RetireKeyVersionRequest, KeyMetadata)
  KB_ADMIN_RPC(GetRotationStatus, GetRotationStatusRequest, GetRotationStatusResponse)
  KB_ADMIN_RPC(RemoveAttestationKey, RemoveAttestationKeyRequest, AttestationKeyInfo)
  KB_ADMIN_RPC(ForgetMachine, ForgetMachineRequest, ForgetMachineResponse)
  KB_ADMIN_RPC(DenyMachine, DenyMachineRequest, DeniedMachine)
  KB_ADMIN_RPC(AllowMachine, AllowMachineRequest, AllowMachineResponse)
  KB_ADMIN_RPC(ListDeniedMachines, ListDeniedMachinesRequest, ListDeniedMachinesResponse)
  KB_ADMIN_RPC(VerifyAuditChain, VerifyAuditChainRequest, VerifyAuditChainResponse)
  KB_ADMIN_RPC(TestPolicy, TestPolicyRequest, TestPolicyResponse)
  KB_ADMIN_RPC(RevokeOfflineGrant, RevokeOfflineGrantRequest, OfflineRevocation)
  KB_ADMIN_RPC(RestoreOfflineGrant, RestoreOfflineGrantRequest, RestoreOfflineGrantResponse)
  KB_ADMIN_RPC(ListOfflineGrants, ListOfflineGrantsRequest, ListOfflineGrantsResponse)
  KB_ADMIN_RPC(ImportCollateral, ImportCollateralRequest, ImportCollateralResponse)
  KB_ADMIN_RPC(ListCollateral, ListCollateralRequest, ListCollateralResponse)
  KB_ADMIN_RPC(DeleteCollateral, DeleteCollateralRequest, DeleteCollateralResponse)
  KB_ADMIN_RPC(ListKeks, ListKeksRequest, ListKeksResponse)
  KB_ADMIN_RPC(RotateKek, RotateKekRequest, RotateKekResponse)
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
