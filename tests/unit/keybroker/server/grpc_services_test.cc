#include "keybroker/server/grpc_services.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "common/grpc/grpc_respond.h"
#include "common/request_deadline.h"
#include "gtest/gtest.h"
#include "keybroker/ak_activation/activation_grpc.h"
#include "tests/support/worker_gate.h"

namespace kb {
namespace {

// Every method of keybrokerd's services is on gRPC's callback API: a synchronous one would give
// the server a sync pool whose polling threads measurably cost every release
// (docs/performance.md). A method of the admin proto missing from KB_ADMIN_METHODS would stay
// synchronous and fail this.
TEST(GrpcServicesTest, NoMethodIsSynchronous) {
  WorkerPool workers(/*threads=*/1, /*max_queued=*/1);
  KeyAdminGrpc admin(AdminApi{}, &workers);
  EXPECT_FALSE(admin.has_synchronous_methods());
  EXPECT_TRUE(admin.has_callback_methods());
  KeyReleaseGrpc release(nullptr);
  EXPECT_FALSE(release.has_synchronous_methods());
  AkActivationGrpc activation(nullptr);
  EXPECT_FALSE(activation.has_synchronous_methods());
}

// The admin adapter over a real in-process gRPC server, with its one worker held by the test.
// Its AdminApi has no services: a call that reached one would crash the test binary (AdminApi
// holds the concrete admin services, which have no fakes).
class AdminAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    // Connected before any call, so that a call's deadline is spent at the server, not on
    // connecting.
    ASSERT_TRUE(
        channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    stub_ = v1::KeyAdmin::NewStub(channel);
  }
  void TearDown() override {
    gate_.Open();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
  }

  grpc::Status ListKeys(std::chrono::milliseconds deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    v1::ListKeysResponse response;
    return stub_->ListKeys(&ctx, {}, &response);
  }

  Gate gate_;
  WorkerPool workers_{/*threads=*/1, /*max_queued=*/1};
  KeyAdminGrpc admin_{AdminApi{}, &workers_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::KeyAdmin::Stub> stub_;
};

// A call beyond the running one and the one waiting is refused at once, not queued.
TEST_F(AdminAdapterTest, ACallBeyondTheQueueIsResourceExhausted) {
  EXPECT_TRUE(HoldAWorker(workers_, gate_));
  EXPECT_TRUE(workers_.Submit([] {}));  // the queue's one place
  grpc::Status s = ListKeys(std::chrono::seconds(10));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("too many admin calls queued"), std::string::npos);
}

// A call whose deadline passes while it waits is not run once a worker is free: the service
// behind it (none here) is never called, and the call ends CANCELLED on the server.
TEST_F(AdminAdapterTest, ACallCancelledWhileQueuedIsNotRun) {
  EXPECT_TRUE(HoldAWorker(workers_, gate_));
  grpc::Status s = ListKeys(std::chrono::milliseconds(200));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_FALSE(workers_.Submit([] {}));  // the call reached the server: it holds the queue
  // The server's copy of the deadline ends a little after the client's (it is sent as a
  // timeout and counted from the request's arrival): give it ample time to cancel the call.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  gate_.Open();
  // The worker now takes the waiting call and must finish it without running it; a task queued
  // after it runs only once that is done.
  std::atomic<bool> after{false};
  EXPECT_TRUE(Eventually([&] { return workers_.Submit([&after] { after = true; }); }));
  EXPECT_TRUE(Eventually([&] { return after.load(); }));
}

// FinishRawUnary (the guest-facing calls' adapter) over a real in-process gRPC server: the
// RequestDeadline its handler runs under, with and without a client deadline.
class GuestDeadlineService final
    : public v1::KeyRelease::WithRawCallbackMethod_GetChallenge<v1::KeyRelease::Service> {
 public:
  grpc::ServerUnaryReactor* GetChallenge(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override {
    return FinishRawUnary<v1::GetChallengeRequest, v1::GetChallengeResponse>(
        ctx, request, response, [this](const v1::GetChallengeRequest&) {
          seen_ = RequestDeadline::Current();
          return absl::StatusOr<v1::GetChallengeResponse>(v1::GetChallengeResponse());
        });
  }
  absl::Time seen() const { return seen_; }

 private:
  absl::Time seen_;  // written before the call's answer, read after it
};

TEST(GuestDeadlineTest, ACallWithoutADeadlineIsWorkedOnForThirtySeconds) {
  GuestDeadlineService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::KeyRelease::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  v1::GetChallengeResponse response;

  grpc::ClientContext without;
  absl::Time before = absl::Now();
  ASSERT_TRUE(stub->GetChallenge(&without, {}, &response).ok());
  EXPECT_GE(service.seen(), before + absl::Seconds(30));
  EXPECT_LE(service.seen(), absl::Now() + absl::Seconds(30));

  // A deadline of its own: worked on until a second before it (a quarter of 10 s is more). The
  // server gets the deadline as a timeout and counts it from its own receipt, so it is later by
  // the call's transit, which a loaded host stretches beyond 100 ms; half a second still tells
  // it from the deadline itself and from 30 s.
  grpc::ClientContext with;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  with.set_deadline(absl::ToChronoTime(deadline));
  ASSERT_TRUE(stub->GetChallenge(&with, {}, &response).ok());
  EXPECT_LE(absl::AbsDuration(service.seen() - (deadline - absl::Seconds(1))),
            absl::Milliseconds(500));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace
}  // namespace kb
