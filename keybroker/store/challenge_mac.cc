#include "keybroker/store/challenge_mac.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr size_t kHeadSize = 16;  // random and expiry: what the tag covers
constexpr size_t kRandomSize = 10;
constexpr size_t kExpiryBytes = kHeadSize - kRandomSize;
constexpr absl::string_view kDomain("keybroker challenge v1", 23);  // with its NUL

std::string ExpiryBytes(absl::Time expires_at) {
  const uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(expires_at)));
  std::string out(kExpiryBytes, '\0');
  for (size_t i = 0; i < kExpiryBytes; ++i) {
    out[i] = static_cast<char>((ms >> (8 * (kExpiryBytes - 1 - i))) & 0xff);
  }
  return out;
}

absl::Time ExpiryOf(absl::string_view head) {
  uint64_t ms = 0;
  for (char c : head.substr(kRandomSize)) ms = (ms << 8) | static_cast<uint8_t>(c);
  return absl::FromUnixMillis(static_cast<int64_t>(ms));
}

absl::StatusOr<std::string> Tag(const SecretBytes& key, absl::string_view head,
                                absl::string_view key_id) {
  ASSIGN_OR_RETURN(std::string mac, HmacSha256(key, absl::StrCat(kDomain, head, key_id)));
  return mac.substr(0, kChallengeNonceSize - kHeadSize);
}

}  // namespace

absl::StatusOr<ChallengeMac> ChallengeMac::Create(SecretBytes key) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("the challenges' MAC key is not 32 bytes");
  }
  return ChallengeMac(std::move(key));
}

absl::StatusOr<Challenge> ChallengeMac::Mint(absl::string_view key_id,
                                             absl::Time expires_at) const {
  ASSIGN_OR_RETURN(std::string random, RandomBytes(kRandomSize));
  std::string nonce = absl::StrCat(random, ExpiryBytes(expires_at));
  ASSIGN_OR_RETURN(std::string tag, Tag(key_, nonce, key_id));
  // The expiry as the nonce carries it (whole milliseconds), as Verify() reads it back.
  const absl::Time expiry = ExpiryOf(nonce);
  nonce += tag;
  return Challenge{HexEncode(nonce), std::string(key_id), nonce, expiry};
}

std::optional<Challenge> ChallengeMac::Verify(absl::string_view id,
                                              absl::string_view key_id) const {
  if (id.size() != 2 * kChallengeNonceSize) return std::nullopt;
  absl::StatusOr<std::string> nonce = HexDecode(id);
  if (!nonce.ok()) return std::nullopt;
  const absl::string_view head = absl::string_view(*nonce).substr(0, kHeadSize);
  absl::StatusOr<std::string> tag = Tag(key_, head, key_id);
  if (!tag.ok() || !ConstantTimeEquals(*tag, absl::string_view(*nonce).substr(kHeadSize))) {
    return std::nullopt;
  }
  // The id in lowercase, as Mint() made it: the record of spent challenges is keyed by it.
  return Challenge{HexEncode(*nonce), std::string(key_id), *nonce, ExpiryOf(head)};
}

}  // namespace kb
