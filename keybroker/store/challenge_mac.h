#ifndef KB_KEYBROKER_STORE_CHALLENGE_MAC_H_
#define KB_KEYBROKER_STORE_CHALLENGE_MAC_H_

#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/secret_bytes.h"
#include "keybroker/store/challenge_store.h"

namespace kb {

// Self-authenticating challenges: what lets replicas on one database issue a challenge without
// writing it, and still redeem one issued by any of them exactly once (the store records the
// spent ones). The 32-byte nonce is
//   [0, 10) random, [10, 16) the expiry in Unix milliseconds (big-endian),
//   [16, 32) HMAC-SHA256(MAC key, domain || nonce[0, 16) || key id), truncated,
// so it is as unpredictable as a random one and binds its expiry and key id: without the MAC
// key (random, kept in the store only sealed under the KEK) nobody makes one the broker takes.
// Immutable; thread-safe.
class ChallengeMac {
 public:
  // INVALID_ARGUMENT unless `key` is 32 bytes.
  static absl::StatusOr<ChallengeMac> Create(SecretBytes key);

  absl::StatusOr<Challenge> Mint(absl::string_view key_id, absl::Time expires_at) const;
  // The challenge `id` names when this key made it for `key_id`, its id in lowercase hex (so
  // that an id in another case is the same challenge). nullopt when it is not of this form,
  // altered, made for another key id or under another key. An expired one is returned: the
  // caller checks expires_at.
  std::optional<Challenge> Verify(absl::string_view id, absl::string_view key_id) const;

 private:
  explicit ChallengeMac(SecretBytes key) : key_(std::move(key)) {}

  SecretBytes key_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_CHALLENGE_MAC_H_
