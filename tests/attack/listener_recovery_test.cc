// Issue 9, weakness 1: gRPC 1.51's own listener stops accepting for good after one accept()
// failure (EMFILE). keybrokerd's GuardedListener must keep accepting once descriptors are free
// again. Proved in process: the process runs out of descriptors while clients connect, then
// gets them back, and a gRPC health check through the listener answers.
#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "keybroker/server/guarded_listener.h"
#include "tests/attack/attack_client.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

// Answers every call with the request it got: a whole gRPC server to call through the listener.
class EchoService : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&message_); }
      void OnReadDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);
        StartWrite(&message_);
      }
      void OnWriteDone(bool) override { Finish(grpc::Status::OK); }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer message_;
    };
    return new Reactor;
  }
};

TEST(GuardedListenerTest, KeepsAcceptingAfterRunningOutOfDescriptors) {
  auto listener = GuardedListener::Bind("test_listen", "127.0.0.1:0", ConnectionLimits());
  ASSERT_THAT(listener, IsOk());
  grpc::ServerBuilder builder;
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      grpc::InsecureServerCredentials());
  EchoService echo;
  builder.RegisterCallbackGenericService(&echo);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  (*listener)->Start(std::move(acceptor));
  const int port = (*listener)->port();

  // Clients' sockets first, then every other descriptor used up, then the connects.
  std::vector<int> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = 4096;
  setrlimit(RLIMIT_NOFILE, &low);
  std::vector<int> filler;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler.push_back(fd);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : clients) {
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  }
  for (int i = 0; i < 50 && (*listener)->stats().accept_failures == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const uint64_t failures = (*listener)->stats().accept_failures;
  for (int fd : filler) close(fd);
  setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_GT(failures, 0u) << "accept() should have failed for want of descriptors";

  // The listener took the waiting connections once it could, and serves new ones.
  for (int i = 0; i < 100 && (*listener)->stats().accepted < clients.size(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ((*listener)->stats().accepted, clients.size());
  std::string echoed;
  grpc::Status s = RawUnaryCall(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
      "/test.Echo/Call", "ping", &echoed, absl::Seconds(5));
  EXPECT_EQ(echoed, "ping");
  EXPECT_THAT(s, IsOk()) << s.error_message();
  for (int fd : clients) close(fd);
  (*listener)->Stop();
  server->Shutdown();
}

TEST(GuardedListenerTest, FitsCapsUnderTheFileLimit) {
  ConnectionLimits release, admin;
  release.max_connections = admin.max_connections = 1024;
  EXPECT_EQ(FitToFileLimit(1 << 20, 256, {&release, &admin}), "");
  EXPECT_EQ(release.max_connections, 1024u);
  std::string warning = FitToFileLimit(1024, 256, {&release, &admin});
  EXPECT_NE(warning.find("open-file limit 1024"), std::string::npos) << warning;
  EXPECT_EQ(release.max_connections, 192u);
  EXPECT_LE(release.max_per_source, 192u);
  EXPECT_LE(2 * (release.max_connections + admin.max_connections), 1024u - 256u);
}

TEST(GuardedListenerTest, NamesTheAddressWhenThePortIsTaken) {
  auto first = GuardedListener::Bind("release_listen", "127.0.0.1:0", ConnectionLimits());
  ASSERT_THAT(first, IsOk());
  auto second = GuardedListener::Bind(
      "release_listen", absl::StrCat("127.0.0.1:", (*first)->port()), ConnectionLimits());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("Address already in use"), std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace kb
