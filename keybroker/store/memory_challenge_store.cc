#include "keybroker/store/memory_challenge_store.h"

#include "common/crypto.h"
#include "common/status_macros.h"

namespace kb {
namespace {

// Expired challenges are dropped every this many Put() calls.
constexpr uint64_t kSweepEvery = 256;

}  // namespace

absl::StatusOr<Challenge> MemoryChallengeStore::New(absl::string_view key_id,
                                                    absl::Time expires_at) {
  ASSIGN_OR_RETURN(std::string nonce, RandomBytes(kChallengeNonceSize));
  return Challenge{HexEncode(nonce), std::string(key_id), std::move(nonce), expires_at};
}

absl::Status MemoryChallengeStore::Put(const Challenge& challenge, absl::Time now) {
  kb::MutexLock lock(&mu_);
  if (++puts_ % kSweepEvery == 0) {
    absl::erase_if(challenges_, [now](const auto& entry) { return entry.second.expires_at < now; });
  }
  if (!challenges_.try_emplace(challenge.id, challenge).second) {
    return absl::AlreadyExistsError("a challenge with this id is outstanding");
  }
  return absl::OkStatus();
}

absl::StatusOr<Challenge> MemoryChallengeStore::Consume(absl::string_view id, absl::string_view) {
  kb::MutexLock lock(&mu_);
  auto node = challenges_.extract(id);
  if (node.empty()) return absl::NotFoundError("challenge unknown or already used");
  return std::move(node.mapped());
}

size_t MemoryChallengeStore::size() const {
  kb::MutexLock lock(&mu_);
  return challenges_.size();
}

}  // namespace kb
