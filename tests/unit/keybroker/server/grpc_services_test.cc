#include "keybroker/server/grpc_services.h"

#include "gtest/gtest.h"

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
}

}  // namespace
}  // namespace kb
