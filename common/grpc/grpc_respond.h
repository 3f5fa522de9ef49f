#ifndef KB_COMMON_GRPC_GRPC_RESPOND_H_
#define KB_COMMON_GRPC_GRPC_RESPOND_H_

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_status.h"
#include "common/request_deadline.h"

namespace kb {

// The server side of the thin gRPC adapters: a plain C++ handler's result as the call's answer.

// When the server stops waiting on behalf of a call whose deadline is `deadline`
// (absl::InfiniteFuture() when its client set none), at `now` (its RequestDeadline): so that
// its answer (UNAVAILABLE, with the reason for an operator) reaches the client before the
// client's own deadline ends the call with a bare DEADLINE_EXCEEDED, a quarter of the time left
// at `now`, at most 1 s, before the call's deadline. absl::InfiniteFuture() for no deadline.
inline absl::Time WorkDeadlineAt(absl::Time deadline, absl::Time now) {
  if (deadline == absl::InfiniteFuture()) return absl::InfiniteFuture();
  return deadline - std::clamp((deadline - now) / 4, absl::ZeroDuration(), absl::Seconds(1));
}

// The call's deadline as absl::Time; absl::InfiniteFuture() when the client set none.
inline absl::Time CallDeadline(const grpc::ServerContextBase& ctx) {
  const std::chrono::system_clock::time_point deadline = ctx.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

inline absl::Time WorkDeadline(const grpc::ServerContextBase& ctx, absl::Time now) {
  return WorkDeadlineAt(CallDeadline(ctx), now);
}

// How long a guest's call (FinishRawUnary) is worked on when its client set no deadline, so
// that such a client cannot hold the server's threads for as long as a hung HSM or database
// would (kbunlock always sets one).
inline constexpr absl::Duration kGuestCallWorkLimit = absl::Seconds(30);

// WorkDeadlineAt for a guest's call: at most kGuestCallWorkLimit after `now` when `deadline`
// is infinite.
inline absl::Time GuestWorkDeadlineAt(absl::Time deadline, absl::Time now) {
  const absl::Time work = WorkDeadlineAt(deadline, now);
  return work == absl::InfiniteFuture() ? now + kGuestCallWorkLimit : work;
}

// Moves the value of `result` into `response` and returns OK; or returns the error of `result`
// through ToGrpcStatus (and leaves `response` alone).
template <typename T>
grpc::Status Respond(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

// Finishes a unary call of the callback API at once with Respond(result, response); returns the
// reactor the handler hands back to gRPC.
template <typename T>
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* ctx, absl::StatusOr<T> result,
                                      T* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(Respond(std::move(result), response));
  return reactor;
}

// Parses the request of a raw call of the callback API (a method registered with gRPC's
// WithRawCallbackMethod_*) as `Req` itself, so that a request that is not a valid `Req`
// (malformed protobuf, a string field that is not UTF-8) is answered INVALID_ARGUMENT naming the
// message, where gRPC's own parsing answers an empty UNIMPLEMENTED (callback API) or INTERNAL
// (sync API).
template <typename Req>
grpc::Status ParseRawRequest(const grpc::ByteBuffer* request, Req* parsed) {
  grpc::ByteBuffer copy(*request);  // shares the slices; Deserialize consumes its argument
  if (grpc::SerializationTraits<Req>::Deserialize(&copy, parsed).ok()) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "request is not a valid " + Req::descriptor()->full_name() +
                          " (malformed protobuf, or a string field that is not UTF-8)");
}

// Serializes the value of `result` into the raw `response` (replacing anything in it) and
// returns OK; or returns the error of `result` through ToGrpcStatus.
template <typename Resp>
grpc::Status RespondRaw(const absl::StatusOr<Resp>& result, grpc::ByteBuffer* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->Clear();  // gRPC's serializer asserts an empty buffer for large messages
  bool own_buffer = false;
  return grpc::SerializationTraits<Resp>::Serialize(*result, response, &own_buffer);
}

// Finishes a guest's raw unary call at once: parses `request` as ParseRawRequest does, runs
// `handler(const Req&) -> absl::StatusOr<Resp>` with the call's GuestWorkDeadlineAt as its
// RequestDeadline and answers as RespondRaw does.
template <typename Req, typename Resp, typename Handler>
grpc::ServerUnaryReactor* FinishRawUnary(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response, Handler&& handler) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Req parsed;
  grpc::Status status = ParseRawRequest(request, &parsed);
  if (status.ok()) {
    const RequestDeadline::Scope deadline(GuestWorkDeadlineAt(CallDeadline(*ctx), absl::Now()));
    status = RespondRaw<Resp>(handler(parsed), response);
  }
  reactor->Finish(status);
  return reactor;
}

}  // namespace kb

#endif  // KB_COMMON_GRPC_GRPC_RESPOND_H_
