#ifndef KB_KEYBROKER_ADMIN_COLLATERAL_CACHE_ADMIN_H_
#define KB_KEYBROKER_ADMIN_COLLATERAL_CACHE_ADMIN_H_

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/admin/admin_runner.h"
#include "keybroker/collateral/collateral_admin.h"

namespace kb {

// The admin API for the operator-managed collateral cache (keybrokerctl collateral): import,
// list, delete. Dependencies are not owned. Thread-safe.
class CollateralCacheAdmin {
 public:
  struct Deps {
    AdminRunner* run;
    CollateralAdmin* collateral = nullptr;  // null: FAILED_PRECONDITION
  };
  explicit CollateralCacheAdmin(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::ImportCollateralResponse> ImportCollateral(
      const v1::ImportCollateralRequest& r, Caller caller);
  absl::StatusOr<v1::ListCollateralResponse> ListCollateral(const v1::ListCollateralRequest& r,
                                                            Caller caller);
  absl::StatusOr<v1::DeleteCollateralResponse> DeleteCollateral(
      const v1::DeleteCollateralRequest& r, Caller caller);

 private:
  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_COLLATERAL_CACHE_ADMIN_H_
