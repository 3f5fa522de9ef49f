#ifndef KB_TESTS_FAKES_FAKE_COLLATERAL_STORE_H_
#define KB_TESTS_FAKES_FAKE_COLLATERAL_STORE_H_

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keybroker/store/collateral_store.h"

namespace kb {

// An in-memory CollateralStore with the SQLite store's semantics (one entry per kind and
// slot; FindCollateral newest not_before first). `down` makes every call UNAVAILABLE.
// Thread-safe.
class FakeCollateralStore final : public CollateralStore {
 public:
  absl::StatusOr<std::vector<CollateralRecord>> FindCollateral(
      absl::string_view kind, absl::string_view lookup_key) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down) return absl::UnavailableError("fake collateral store is down");
    std::vector<CollateralRecord> out;
    for (const CollateralRecord& r : entries_) {
      if (r.kind == kind && (lookup_key.empty() || r.lookup_key == lookup_key)) out.push_back(r);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.not_before > b.not_before; });
    return out;
  }
  absl::StatusOr<std::optional<CollateralRecord>> PutCollateral(
      const CollateralRecord& record,
      absl::Status (*check_replace)(const CollateralRecord&, const CollateralRecord&)) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down) return absl::UnavailableError("fake collateral store is down");
    std::optional<CollateralRecord> replaced;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->kind != record.kind || it->slot != record.slot) continue;
      if (check_replace != nullptr) {
        if (absl::Status s = check_replace(*it, record); !s.ok()) return s;
      }
      replaced = *it;
      entries_.erase(it);
      break;
    }
    entries_.push_back(record);
    return replaced;
  }
  absl::StatusOr<std::vector<CollateralRecord>> ListCollateral() override {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }
  absl::StatusOr<CollateralRecord> DeleteCollateral(absl::string_view id) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->id != id) continue;
      CollateralRecord r = *it;
      entries_.erase(it);
      return r;
    }
    return absl::NotFoundError(absl::StrCat("no collateral entry with id '", id, "'"));
  }

  bool down = false;

 private:
  std::mutex mu_;
  std::vector<CollateralRecord> entries_;
};

}  // namespace kb

#endif  // KB_TESTS_FAKES_FAKE_COLLATERAL_STORE_H_
