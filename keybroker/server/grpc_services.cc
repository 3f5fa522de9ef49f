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

// The call finished at once with `status`.
grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
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
    const RequestDeadline::Scope deadline(WorkDeadline(*ctx, absl::Now()));
    reactor->Finish(call());
  };
  if (!workers_->Submit(std::move(run))) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many admin calls queued; retry later"));
  }
  return reactor;
}

// Each RPC's request is parsed on gRPC's thread, then the service of its resource runs it on a
// worker.
#define KB_ADMIN_IMPL(Resource, Name, Req, Resp)                                              \
  grpc::ServerUnaryReactor* KeyAdminGrpc::Name(grpc::CallbackServerContext* ctx,              \
                                               const grpc::ByteBuffer* request,               \
                                               grpc::ByteBuffer* response) {                  \
    v1::Req parsed;                                                                           \
    if (grpc::Status s = ParseRawRequest(request, &parsed); !s.ok()) return Finished(ctx, s); \
    return OnWorker(ctx, [this, ctx, response, parsed = std::move(parsed)] {                  \
      return RespondRaw<v1::Resp>(api_.Resource->Name(parsed, Operator(ctx)), response);      \
    });                                                                                       \
  }
KB_ADMIN_METHODS(KB_ADMIN_IMPL)
#undef KB_ADMIN_IMPL

}  // namespace kb
