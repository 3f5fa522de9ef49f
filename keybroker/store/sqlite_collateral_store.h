#ifndef KB_KEYBROKER_STORE_SQLITE_COLLATERAL_STORE_H_
#define KB_KEYBROKER_STORE_SQLITE_COLLATERAL_STORE_H_

#include <memory>

#include "keybroker/store/collateral_store.h"
#include "keybroker/store/sqlite_db.h"

namespace kb {

// The collateral cache in the broker database (table `collateral`, schema version 4).
// Thread-safe.
class SqliteCollateralStore final : public CollateralStore {
 public:
  explicit SqliteCollateralStore(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::StatusOr<std::vector<CollateralRecord>> FindCollateral(
      absl::string_view kind, absl::string_view lookup_key) override;
  absl::StatusOr<std::optional<CollateralRecord>> PutCollateral(
      const CollateralRecord& record,
      absl::Status (*check_replace)(const CollateralRecord& existing,
                                    const CollateralRecord& incoming)) override;
  absl::StatusOr<std::vector<CollateralRecord>> ListCollateral() override;
  absl::StatusOr<CollateralRecord> DeleteCollateral(absl::string_view id) override;

 private:
  std::shared_ptr<SqliteDb> db_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_COLLATERAL_STORE_H_
