#ifndef KB_COMMON_VALIDITY_WINDOW_H_
#define KB_COMMON_VALIDITY_WINDOW_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace kb {

// A validity period [first, second] (notBefore/notAfter, issueDate/nextUpdate, ...).
using ValidityWindow = std::pair<absl::Time, absl::Time>;

inline bool WindowContains(const ValidityWindow& w, absl::Time now) {
  return w.first <= now && now <= w.second;
}

// The index of the newest window (by start) valid at `now`, else of the newest; -1 if none.
inline int PickNewestWindow(const std::vector<ValidityWindow>& windows, absl::Time now) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(windows.size()); ++i) {
    if (best < 0) {
      best = i;
      continue;
    }
    const bool valid = WindowContains(windows[i], now);
    const bool best_valid = WindowContains(windows[best], now);
    if ((valid && !best_valid) || (valid == best_valid && windows[i].first > windows[best].first)) {
      best = i;
    }
  }
  return best;
}

// RFC 3339 (seconds, UTC), as validity times are printed in errors.
inline std::string ValidityTimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

}  // namespace kb

#endif  // KB_COMMON_VALIDITY_WINDOW_H_
