#ifndef KB_KEYBROKER_COLLATERAL_COLLATERAL_ADMIN_H_
#define KB_KEYBROKER_COLLATERAL_COLLATERAL_ADMIN_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keybroker/store/collateral_store.h"

namespace kb {

// What an import stored and what it replaced.
struct CollateralImport {
  CollateralRecord entry;
  std::optional<CollateralRecord> replaced;
};

// The operator's view of the collateral cache (CollateralCacheAdmin: Import/List/DeleteCollateral).
// Thread-safe.
class CollateralAdmin {
 public:
  virtual ~CollateralAdmin() = default;
  // Recognises, verifies and stores `content` (error contract: ImportCollateral in
  // proto/kb/v1/admin.proto). `name` is kept for the listing.
  virtual absl::StatusOr<CollateralImport> Import(absl::string_view content,
                                                  absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<CollateralRecord>> List() = 0;
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<CollateralRecord> Delete(absl::string_view id) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_COLLATERAL_COLLATERAL_ADMIN_H_
