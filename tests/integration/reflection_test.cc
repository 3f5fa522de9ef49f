// Server reflection on a real keybrokerd over TLS: v1 (what grpcurl and current clients ask for)
// and v1alpha, the same messages under the older name; both keybrokerd's own, on gRPC's callback
// API. Also what the release listener answers for a method nobody serves.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <chrono>

#include "common/files.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/shared_broker.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using grpc::reflection::v1::ServerReflection;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;
using ::testing::Contains;
using ::testing::IsSupersetOf;

class ReflectionTest : public SharedBrokerTest {
 protected:
  std::shared_ptr<grpc::Channel> ReleaseChannel() {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = *ReadFile(broker_->Path("ca.pem"));
    return grpc::CreateChannel(broker_->release_endpoint(), grpc::SslCredentials(options));
  }

  // The v1 responses to `requests`, sent on one stream.
  std::vector<ServerReflectionResponse> Ask(const std::vector<ServerReflectionRequest>& requests) {
    auto stub = ServerReflection::NewStub(ReleaseChannel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->ServerReflectionInfo(&ctx);
    std::vector<ServerReflectionResponse> out;
    for (const auto& r : requests) {
      EXPECT_TRUE(stream->Write(r));
      ServerReflectionResponse response;
      EXPECT_TRUE(stream->Read(&response));
      out.push_back(response);
    }
    stream->WritesDone();
    const grpc::Status finished = stream->Finish();
    EXPECT_TRUE(finished.ok()) << finished.error_code() << " " << finished.error_message();
    return out;
  }

  static std::vector<std::string> Services(const ServerReflectionResponse& r) {
    std::vector<std::string> names;
    for (const auto& s : r.list_services_response().service()) names.push_back(s.name());
    return names;
  }
};

ServerReflectionRequest ListServices() {
  ServerReflectionRequest r;
  r.set_list_services("");
  return r;
}

ServerReflectionRequest Symbol(const std::string& symbol) {
  ServerReflectionRequest r;
  r.set_file_containing_symbol(symbol);
  return r;
}

TEST_F(ReflectionTest, V1ListsTheServicesAndDescribesTheirFiles) {
  auto responses =
      Ask({ListServices(), Symbol("kb.v1.KeyRelease"), Symbol("kb.v1.KeyRelease"),
           Symbol("kb.v1.NoSuchThing"), Symbol("grpc.reflection.v1.ServerReflection")});
  EXPECT_THAT(Services(responses[0]),
              IsSupersetOf({"kb.v1.KeyRelease", "grpc.reflection.v1.ServerReflection"}));
  EXPECT_THAT(Services(responses[0]), ::testing::Not(Contains("kb.v1.KeyAdmin")));
  // Answered, but not listed: keybrokerd has no descriptor of it to describe.
  EXPECT_THAT(Services(responses[0]),
              ::testing::Not(Contains("grpc.reflection.v1alpha.ServerReflection")));
  const auto& files = responses[1].file_descriptor_response().file_descriptor_proto();
  ASSERT_GE(files.size(), 2);  // release.proto and what it imports
  google::protobuf::FileDescriptorProto release;
  ASSERT_TRUE(release.ParseFromString(files[0]));
  EXPECT_EQ(release.name(), "kb/v1/release.proto");
  EXPECT_EQ(release.service(0).name(), "KeyRelease");
  // Asked again on the same stream: nothing is sent twice.
  EXPECT_TRUE(responses[2].has_file_descriptor_response());
  EXPECT_EQ(responses[2].file_descriptor_response().file_descriptor_proto_size(), 0);
  EXPECT_EQ(responses[3].error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  // The reflection service it lists, described too.
  const auto& reflection = responses[4].file_descriptor_response().file_descriptor_proto();
  ASSERT_GE(reflection.size(), 1);
  google::protobuf::FileDescriptorProto reflection_file;
  ASSERT_TRUE(reflection_file.ParseFromString(reflection[0]));
  EXPECT_EQ(reflection_file.package(), "grpc.reflection.v1");
}

TEST_F(ReflectionTest, V1alphaAnswersTheSameRequest) {
  // The two versions' messages are the same on the wire: a v1 request, sent to v1alpha.
  grpc::GenericStub stub(ReleaseChannel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::string bytes = ListServices().SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string data;
  for (const auto& s : slices) data.append(reinterpret_cast<const char*>(s.begin()), s.size());
  ServerReflectionResponse response;
  ASSERT_TRUE(response.ParseFromString(data));
  EXPECT_THAT(Services(response), Contains("kb.v1.KeyRelease"));
  ctx.TryCancel();
  call->Finish(nullptr, reinterpret_cast<void*>(4));
  while (cq.Next(&tag, &ok)) {
    if (tag == reinterpret_cast<void*>(4)) break;
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// Opens a stream to `method` on the release listener, writes `bytes` as one message, half-closes
// and returns the stream's final status.
grpc::Status SendRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(4)) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(ReflectionTest, AMalformedRequestEndsTheStreamInvalidArgument) {
  // Field 3 (file_by_filename, a string) holding bytes that are not UTF-8.
  const std::string bytes = std::string("\x1a\x02\xff\xfe", 4);
  for (const char* method : {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                             "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    const grpc::Status status = SendRaw(ReleaseChannel(), method, bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_THAT(status.error_message(), testing::HasSubstr("ServerReflectionRequest")) << method;
  }
}

TEST_F(ReflectionTest, AMethodNobodyServesIsUnimplemented) {
  for (const char* method : {"/kb.v1.KeyRelease/NoSuchMethod", "/no.such.Service/Call",
                             "/grpc.reflection.v1.ServerReflection/Other"}) {
    EXPECT_EQ(SendRaw(ReleaseChannel(), method, "").error_code(), grpc::StatusCode::UNIMPLEMENTED)
        << method;
  }
}

}  // namespace
}  // namespace kb
