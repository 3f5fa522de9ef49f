#ifndef KB_KEYBROKER_STORE_CHALLENGE_STORE_H_
#define KB_KEYBROKER_STORE_CHALLENGE_STORE_H_

#include <cstddef>
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
  // A new challenge for `key_id` that expires at `expires_at`, not yet issued: its nonce is
  // unpredictable and its id is the nonce in hex.
  virtual absl::StatusOr<Challenge> New(absl::string_view key_id, absl::Time expires_at) = 0;
  // Issues a challenge New() made; also drops challenges that expired before `now`.
  virtual absl::Status Put(const Challenge& challenge, absl::Time now) = 0;
  // Atomically marks the challenge used and returns it. NOT_FOUND if it is unknown or was
  // already consumed (the two are deliberately indistinguishable). `key_id` is the one the
  // redeemer names: a store may refuse a challenge issued for another one as unknown, or
  // return it as issued for the caller to refuse.
  virtual absl::StatusOr<Challenge> Consume(absl::string_view id, absl::string_view key_id) = 0;
};

// The nonce size of every challenge (32 bytes).
inline constexpr size_t kChallengeNonceSize = 32;

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_CHALLENGE_STORE_H_
