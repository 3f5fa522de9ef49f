#ifndef KB_KEYBROKER_STORE_MEMORY_CHALLENGE_STORE_H_
#define KB_KEYBROKER_STORE_MEMORY_CHALLENGE_STORE_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "common/sync/mutex.h"
#include "keybroker/store/challenge_store.h"

namespace kb {

// Challenges in this process's memory: the challenge store of a broker that is the only process
// on its database (SQLite, the single-host store). Replicas on PostgreSQL make
// self-authenticating ones instead (ChallengeMac), because a challenge issued by one must be
// redeemable at another.
//
// Single use: Consume() removes the challenge under the lock, so of any number of concurrent
// redemptions exactly one gets it. Fresh: the caller checks expires_at, and expired challenges
// are dropped every 256 Put() calls, so the store holds at most what the challenge quota lets
// out plus the 256 issued since the last sweep. Lost on restart: a guest whose challenge was
// issued before it is refused as for an unknown challenge and asks for a new one (kbunlock does
// so once by itself), and a backup can hold no challenge at all. Thread-safe.
class MemoryChallengeStore final : public ChallengeStore {
 public:
  // A random nonce.
  absl::StatusOr<Challenge> New(absl::string_view key_id, absl::Time expires_at) override;
  // ALREADY_EXISTS if a challenge with this id is held.
  absl::Status Put(const Challenge& challenge, absl::Time now) override ABSL_LOCKS_EXCLUDED(mu_);
  // Returns the challenge as issued, whatever `key_id` is: the caller compares.
  absl::StatusOr<Challenge> Consume(absl::string_view id, absl::string_view key_id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // Challenges held, expired ones not yet dropped included.
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable kb::Mutex mu_;
  absl::flat_hash_map<std::string, Challenge> challenges_ ABSL_GUARDED_BY(mu_);
  uint64_t puts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_MEMORY_CHALLENGE_STORE_H_
