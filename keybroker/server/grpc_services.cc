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

AdminCaller Operator(const grpc::ServerContext* ctx) {
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

#define KB_ADMIN_IMPL(Name, Req, Resp)                                              \
  grpc::Status KeyAdminGrpc::Name(grpc::ServerContext* ctx, const v1::Req* request, \
                                  v1::Resp* response) {                             \
    return Respond(core_->Name(*request, Operator(ctx)), response);                 \
  }
KB_ADMIN_IMPL(CreateKey, CreateKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(ListKeys, ListKeysRequest, ListKeysResponse)
KB_ADMIN_IMPL(GetKey, GetKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(SetPolicy, SetPolicyRequest, SetPolicyResponse)
KB_ADMIN_IMPL(GetPolicy, GetPolicyRequest, GetPolicyResponse)
KB_ADMIN_IMPL(RegisterAttestationKey, RegisterAttestationKeyRequest, AttestationKeyInfo)
KB_ADMIN_IMPL(ListAttestationKeys, ListAttestationKeysRequest, ListAttestationKeysResponse)
KB_ADMIN_IMPL(DisableKey, DisableKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(ListAuditEvents, ListAuditEventsRequest, ListAuditEventsResponse)
KB_ADMIN_IMPL(RotateKey, RotateKeyRequest, KeyMetadata)
KB_ADMIN_IMPL(RetireKeyVersion, RetireKeyVersionRequest, KeyMetadata)
KB_ADMIN_IMPL(GetRotationStatus, GetRotationStatusRequest, GetRotationStatusResponse)
KB_ADMIN_IMPL(DenyMachine, DenyMachineRequest, DeniedMachine)
KB_ADMIN_IMPL(AllowMachine, AllowMachineRequest, AllowMachineResponse)
KB_ADMIN_IMPL(ListDeniedMachines, ListDeniedMachinesRequest, ListDeniedMachinesResponse)
KB_ADMIN_IMPL(VerifyAuditChain, VerifyAuditChainRequest, VerifyAuditChainResponse)
KB_ADMIN_IMPL(TestPolicy, TestPolicyRequest, TestPolicyResponse)
KB_ADMIN_IMPL(RevokeOfflineGrant, RevokeOfflineGrantRequest, OfflineRevocation)
KB_ADMIN_IMPL(RestoreOfflineGrant, RestoreOfflineGrantRequest, RestoreOfflineGrantResponse)
KB_ADMIN_IMPL(ListOfflineGrants, ListOfflineGrantsRequest, ListOfflineGrantsResponse)
KB_ADMIN_IMPL(ImportCollateral, ImportCollateralRequest, ImportCollateralResponse)
KB_ADMIN_IMPL(ListCollateral, ListCollateralRequest, ListCollateralResponse)
KB_ADMIN_IMPL(DeleteCollateral, DeleteCollateralRequest, DeleteCollateralResponse)
#undef KB_ADMIN_IMPL

}  // namespace kb
