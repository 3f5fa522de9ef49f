#ifndef KB_KEYBROKER_STORE_CHALLENGE_STORE_H_
#define KB_KEYBROKER_STORE_CHALLENGE_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

struct Challenge {
  std::string id;
  std::string key_id;
  std::string nonce;  // 32 bytes
  absl::Time expires_at;
};

// Single-use challenges. Thread-safe.
class ChallengeStore {
 public:
  virtual ~ChallengeStore() = default;
  // Stores a new challenge; also drops challenges that expired before `now`.
  virtual absl::Status Put(const Challenge& challenge, absl::Time now) = 0;
  // Atomically marks the challenge used and returns it. NOT_FOUND if it is unknown or was
  // already consumed (the two are deliberately indistinguishable).
  virtual absl::StatusOr<Challenge> Consume(absl::string_view id) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_CHALLENGE_STORE_H_
