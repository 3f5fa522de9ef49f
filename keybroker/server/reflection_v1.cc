#include "keybroker/server/reflection_v1.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <set>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace kb {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;

const DescriptorPool& Pool() { return *DescriptorPool::generated_pool(); }

void NotFound(ServerReflectionResponse& response, const std::string& what) {
  auto* error = response.mutable_error_response();
  error->set_error_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  error->set_error_message(what + " not found");
}

// `file` and its dependencies, each once per stream (`sent`), dependencies after the file.
void AddFile(const FileDescriptor* file, std::set<std::string>& sent,
             ServerReflectionResponse& response) {
  if (!sent.insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(response.mutable_file_descriptor_response()->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) AddFile(file->dependency(i), sent, response);
}

void AnswerFile(const FileDescriptor* file, const std::string& what, std::set<std::string>& sent,
                ServerReflectionResponse& response) {
  if (file == nullptr) return NotFound(response, what);
  AddFile(file, sent, response);
  // Everything already sent on this stream: still a (empty) file response, not an error.
  response.mutable_file_descriptor_response();
}

void AnswerExtensions(const std::string& type, ServerReflectionResponse& response) {
  const auto* message = Pool().FindMessageTypeByName(type);
  if (message == nullptr) return NotFound(response, "type " + type);
  std::vector<const google::protobuf::FieldDescriptor*> extensions;
  Pool().FindAllExtensions(message, &extensions);
  auto* numbers = response.mutable_all_extension_numbers_response();
  numbers->set_base_type_name(type);
  for (const auto* e : extensions) numbers->add_extension_number(e->number());
}

// One reflection stream: reads a request, writes its answer, until the client half-closes.
// Requests and answers are parsed and serialized here (v1 messages; v1alpha's are the same
// bytes). Deletes itself when gRPC is done with it.
class ReflectionStream final : public grpc::ServerGenericBidiReactor {
 public:
  explicit ReflectionStream(const ReflectionV1& reflection) : reflection_(reflection) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client half-closed (or the call ended)
    ServerReflectionRequest request;
    if (!grpc::SerializationTraits<ServerReflectionRequest>::Deserialize(&in_, &request).ok()) {
      return Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "request is not a valid grpc.reflection.v1.ServerReflectionRequest"));
    }
    bool own_buffer = false;
    out_.Clear();  // the previous answer, written
    const grpc::Status serialized = grpc::SerializationTraits<ServerReflectionResponse>::Serialize(
        reflection_.Answer(request, sent_), &out_, &own_buffer);
    if (!serialized.ok()) return Finish(serialized);
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client went away
    StartRead(&in_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionV1& reflection_;
  std::set<std::string> sent_;  // files already described on this stream
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
};

}  // namespace

grpc::ServerGenericBidiReactor* ReflectionV1::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  if (ctx->method() != "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo" &&
      ctx->method() != "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") {
    return grpc::CallbackGenericService::CreateReactor(ctx);  // UNIMPLEMENTED
  }
  return new ReflectionStream(*this);
}

ServerReflectionResponse ReflectionV1::Answer(const ServerReflectionRequest& request,
                                              std::set<std::string>& sent) const {
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : services_) {
        response.mutable_list_services_response()->add_service()->set_name(name);
      }
      break;
    case ServerReflectionRequest::kFileByFilename:
      AnswerFile(Pool().FindFileByName(request.file_by_filename()),
                 "file " + request.file_by_filename(), sent, response);
      break;
    case ServerReflectionRequest::kFileContainingSymbol:
      AnswerFile(Pool().FindFileContainingSymbol(request.file_containing_symbol()),
                 "symbol " + request.file_containing_symbol(), sent, response);
      break;
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& e = request.file_containing_extension();
      const auto* type = Pool().FindMessageTypeByName(e.containing_type());
      const auto* field =
          type == nullptr ? nullptr : Pool().FindExtensionByNumber(type, e.extension_number());
      AnswerFile(field == nullptr ? nullptr : field->file(), "extension", sent, response);
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType:
      AnswerExtensions(request.all_extension_numbers_of_type(), response);
      break;
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET: {
      auto* error = response.mutable_error_response();
      error->set_error_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      error->set_error_message("empty reflection request");
      break;
    }
  }
  return response;
}

}  // namespace kb
