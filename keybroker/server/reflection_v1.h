#ifndef KB_KEYBROKER_SERVER_REFLECTION_V1_H_
#define KB_KEYBROKER_SERVER_REFLECTION_V1_H_

#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace kb {

// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection) over the descriptors compiled
// into keybrokerd, beside gRPC 1.51's own v1alpha: grpcurl and current clients ask for v1.
// Lists `services` (the names served on that listener) and answers file, symbol and extension
// queries; an unknown name gets an error response (NOT_FOUND) on the stream, not a failed call.
class ReflectionV1 final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  explicit ReflectionV1(std::vector<std::string> services) : services_(std::move(services)) {}

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream) override;

 private:
  // The response to one request; `sent` lists the files already described on the stream.
  grpc::reflection::v1::ServerReflectionResponse Answer(
      const grpc::reflection::v1::ServerReflectionRequest& request,
      std::set<std::string>& sent) const;

  std::vector<std::string> services_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_REFLECTION_V1_H_
