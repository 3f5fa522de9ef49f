#include "keybroker/server/grpc_services.h"

#include <grpc/grpc_security_constants.h>

#include "common/grpc/grpc_respond.h"

namespace kb {
namespace {

std::string Property(const grpc::AuthContext& auth, const char* name) {
  auto values = auth.FindPropertyValues(name);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

std::vector<std::string> Properties(const grpc::AuthContext& auth, const char* name) {
  std::vector<std::string> out;
  for (const grpc::string_ref& v : auth.FindPropertyValues(name))
    out.emplace_back(v.data(), v.size());
  return out;
}

AdminCaller Operator(const grpc::CallbackServerContext* ctx) {
  AdminCaller caller;
  if (auto auth = ctx->auth_context(); auth != nullptr) {
    caller.subject = Property(*auth, GRPC_X509_SUBJECT_PROPERTY_NAME);
    caller.common_name = Property(*auth, GRPC_X509_CN_PROPERTY_NAME);
    caller.uris = Properties(*auth, GRPC_PEER_URI_PROPERTY_NAME);
    caller.emails = Properties(*auth, GRPC_PEER_EMAIL_PROPERTY_NAME);
  }
  // No certificate identity: cannot match a role, and the audit names the peer.
  if (caller.subject.empty()) caller.subject = "unauthenticated:" + ctx->peer();
  return caller;
}

}  // namespace

grpc::ServerUnaryReactor* KeyReleaseGrpc::GetChallenge(grpc::CallbackServerContext* ctx,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  return FinishRawUnary<v1::GetChallengeRequest, v1::GetChallengeResponse>(
      ctx, request, response,
      [&](const v1::GetChallengeRequest& r) { return core_->GetChallenge(r, ctx->peer()); });
}

grpc::ServerUnaryReactor* KeyReleaseGrpc::ReleaseKey(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return FinishRawUnary<v1::ReleaseKeyRequest, v1::ReleaseKeyResponse>(
      ctx, request, response,
      [&](const v1::ReleaseKeyRequest& r) { return core_->ReleaseKey(r, ctx->peer()); });
}

grpc::ServerUnaryReactor* KeyReleaseGrpc::ConfirmEnrolment(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  return FinishRawUnary<v1::ConfirmEnrolmentRequest, v1::ConfirmEnrolmentResponse>(
      ctx, request, response, [&](const v1::ConfirmEnrolmentRequest& r) {
        return core_->ConfirmEnrolment(r, ctx->peer());
      });
}

grpc::ServerUnaryReactor* KeyAdminGrpc::OnWorker(grpc::CallbackServerContext* ctx,
                                                 std::function<grpc::Status()> call) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto run = [ctx, reactor, call = std::move(call)] {
    // A call that waited past its deadline, or whose caller went away (or that the server's
    // shutdown cancelled), is not run: its caller was told it failed.
    if (ctx->IsCancelled()) {
      return reactor->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "cancelled before it ran; nothing was done"));
    }
    reactor->Finish(call());
  };
  if (!workers_->Submit(std::move(run))) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many admin calls queued; retry later"));
  }
  return reactor;
}

// Each RPC goes to the service of its resource, on a worker.
#define KB_ADMIN_IMPL(Resource, Name, Req, Resp)                                             \
  grpc::ServerUnaryReactor* KeyAdminGrpc::Name(grpc::CallbackServerContext* ctx,             \
                                               const v1::Req* request, v1::Resp* response) { \
    return OnWorker(ctx, [this, ctx, request, response] {                                    \
      return Respond(api_.Resource->Name(*request, Operator(ctx)), response);                \
    });                                                                                      \
  }
KB_ADMIN_IMPL(keys, CreateKey, CreateKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(keys, ListKeys, ListKeysRequest, ListKeysResponse)
KB_ADMIN_IMPL(keys, GetKey, GetKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(policies, SetPolicy, SetPolicyRequest, SetPolicyResponse)
KB_ADMIN_IMPL(policies, GetPolicy, GetPolicyRequest, GetPolicyResponse)
KB_ADMIN_IMPL(machines, RegisterAttestationKey, RegisterAttestationKeyRequest, AttestationKeyInfo)
KB_ADMIN_IMPL(machines, ListAttestationKeys, ListAttestationKeysRequest,
              ListAttestationKeysResponse)
KB_ADMIN_IMPL(machines, RemoveAttestationKey, RemoveAttestationKeyRequest, AttestationKeyInfo)
KB_ADMIN_IMPL(machines, ForgetMachine, ForgetMachineRequest, ForgetMachineResponse)
KB_ADMIN_IMPL(keys, DisableKey, DisableKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(audit, ListAuditEvents, ListAuditEventsRequest, ListAuditEventsResponse)
KB_ADMIN_IMPL(keys, RotateKey, RotateKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(keys, RetireKeyVersion, RetireKeyVersionRequest, KeyMetadata)
KB_ADMIN_IMPL(keys, GetRotationStatus, GetRotationStatusRequest, GetRotationStatusResponse)
KB_ADMIN_IMPL(machines, DenyMachine, DenyMachineRequest, DeniedMachine)
KB_ADMIN_IMPL(machines, AllowMachine, AllowMachineRequest, AllowMachineResponse)
KB_ADMIN_IMPL(machines, ListDeniedMachines, ListDeniedMachinesRequest, ListDeniedMachinesResponse)
KB_ADMIN_IMPL(audit, VerifyAuditChain, VerifyAuditChainRequest, VerifyAuditChainResponse)
KB_ADMIN_IMPL(policies, TestPolicy, TestPolicyRequest, TestPolicyResponse)
KB_ADMIN_IMPL(machines, RevokeOfflineGrant, RevokeOfflineGrantRequest, OfflineRevocation)
KB_ADMIN_IMPL(machines, RestoreOfflineGrant, RestoreOfflineGrantRequest,
              RestoreOfflineGrantResponse)
KB_ADMIN_IMPL(machines, ListOfflineGrants, ListOfflineGrantsRequest, ListOfflineGrantsResponse)
KB_ADMIN_IMPL(collateral, ImportCollateral, ImportCollateralRequest, ImportCollateralResponse)
KB_ADMIN_IMPL(collateral, ListCollateral, ListCollateralRequest, ListCollateralResponse)
KB_ADMIN_IMPL(collateral, DeleteCollateral, DeleteCollateralRequest, DeleteCollateralResponse)
KB_ADMIN_IMPL(keks, ListKeks, ListKeksRequest, ListKeksResponse)
KB_ADMIN_IMPL(keks, RotateKek, RotateKekRequest, RotateKekResponse)
#undef KB_ADMIN_IMPL

}  // namespace kb
