#ifndef KB_KEYBROKER_SERVER_REFLECTION_V1_H_
#define KB_KEYBROKER_SERVER_REFLECTION_V1_H_

#include <grpcpp/generic/async_generic_service.h>

#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.pb.h"

namespace kb {

// gRPC server reflection (grpc.reflection.v1.ServerReflection, and v1alpha, whose messages are
// the same on the wire) over the descriptors compiled into keybrokerd: grpcurl and current
// clients ask for v1, older ones for v1alpha. Lists `services` (the names served on that
// listener) and answers file, symbol and extension queries; an unknown name gets an error
// response (NOT_FOUND) on the stream, not a failed call. It is the server's generic callback
// service (gRPC 1.51's own reflection is a sync service, and a sync service adds polling
// threads that measurably cost every release): it serves the two reflection methods and answers
// any other unregistered method UNIMPLEMENTED.
class ReflectionV1 final : public grpc::CallbackGenericService {
 public:
  explicit ReflectionV1(std::vector<std::string> services) : services_(std::move(services)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

  // The response to one request; `sent` lists the files already described on the stream.
  grpc::reflection::v1::ServerReflectionResponse Answer(
      const grpc::reflection::v1::ServerReflectionRequest& request,
      std::set<std::string>& sent) const;

 private:
  std::vector<std::string> services_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_REFLECTION_V1_H_
