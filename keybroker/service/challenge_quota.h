#ifndef KB_KEYBROKER_SERVICE_CHALLENGE_QUOTA_H_
#define KB_KEYBROKER_SERVICE_CHALLENGE_QUOTA_H_

#include <map>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/sync/mutex.h"

namespace kb {

// Bounds the challenges outstanding (issued, not yet redeemed or expired): in all, and per
// client address, so that one client cannot fill the challenge table (whose bound would
// otherwise be request rate x TTL). In memory: after a restart it starts empty, which only
// lets the challenges issued before it go unbounded until they expire. Thread-safe.
class ChallengeQuota {
 public:
  ChallengeQuota(size_t max_total, size_t max_per_source)
      : max_total_(max_total), max_per_source_(max_per_source) {}

  // Takes a place for challenge `id` from `source` until `expires_at`; RESOURCE_EXHAUSTED
  // saying which bound is reached (and when the oldest place frees up) otherwise.
  absl::Status Reserve(const std::string& id, const std::string& source, absl::Time expires_at,
                       absl::Time now);
  // Frees the place of `id` (redeemed, whatever the outcome); no-op if unknown.
  void Release(const std::string& id);

  size_t outstanding() const;

 private:
  void ExpireLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_total_;
  const size_t max_per_source_;
  mutable kb::Mutex mu_;
  struct Place {
    std::string source;
    absl::Time expires_at;
  };
  std::unordered_map<std::string, Place> places_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, std::string> by_expiry_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, size_t> per_source_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_CHALLENGE_QUOTA_H_
