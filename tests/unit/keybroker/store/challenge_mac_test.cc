// Self-authenticating challenges: a challenge verifies for the key id it was made for and
// nothing else; an altered byte, another key id, another MAC key or an id of another form
// does not; the expiry read back is the one made.
#include "keybroker/store/challenge_mac.h"

#include <string>

#include "common/crypto.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

const absl::Time kExpiry = absl::FromUnixMillis(1'800'000'000'123);

ChallengeMac Mac() { return *ChallengeMac::Create(*RandomSecret(32)); }

std::string Flip(const std::string& id, size_t byte) {
  std::string nonce = *HexDecode(id);
  nonce[byte] ^= 1;
  return HexEncode(nonce);
}

TEST(ChallengeMacTest, AChallengeVerifiesForItsKeyIdOnly) {
  const ChallengeMac mac = Mac();
  auto c = mac.Mint("disk", kExpiry);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->nonce.size(), kChallengeNonceSize);
  EXPECT_EQ(c->id, HexEncode(c->nonce));
  EXPECT_EQ(c->key_id, "disk");
  EXPECT_EQ(c->expires_at, kExpiry);
  std::optional<Challenge> back = mac.Verify(c->id, "disk");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, c->id);
  EXPECT_EQ(back->nonce, c->nonce);
  EXPECT_EQ(back->key_id, "disk");
  EXPECT_EQ(back->expires_at, kExpiry);
  EXPECT_FALSE(mac.Verify(c->id, "disk2").has_value());
  EXPECT_FALSE(mac.Verify(c->id, "").has_value());
  EXPECT_NE(mac.Mint("disk", kExpiry)->nonce, c->nonce);
}

TEST(ChallengeMacTest, EveryAlteredByteIsRefused) {
  const ChallengeMac mac = Mac();
  const std::string id = mac.Mint("disk", kExpiry)->id;
  for (size_t byte = 0; byte < kChallengeNonceSize; ++byte) {
    EXPECT_FALSE(mac.Verify(Flip(id, byte), "disk").has_value()) << byte;
  }
}

TEST(ChallengeMacTest, IdsOfAnotherFormAreRefused) {
  const ChallengeMac mac = Mac();
  const std::string id = mac.Mint("disk", kExpiry)->id;
  EXPECT_FALSE(mac.Verify("", "disk").has_value());
  EXPECT_FALSE(mac.Verify(id.substr(2), "disk").has_value());
  EXPECT_FALSE(mac.Verify(id + "00", "disk").has_value());
  EXPECT_FALSE(mac.Verify(std::string(64, 'z'), "disk").has_value());
  EXPECT_FALSE(mac.Verify(HexEncode(*RandomBytes(32)), "disk").has_value());
}

TEST(ChallengeMacTest, AnUppercaseIdIsTheSameChallengeWithItsLowercaseId) {
  const ChallengeMac mac = Mac();
  const std::string id = mac.Mint("disk", kExpiry)->id;
  std::string upper = id;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ASSERT_NE(upper, id);
  std::optional<Challenge> back = mac.Verify(upper, "disk");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, id);  // the record of spent challenges is keyed by this
}

TEST(ChallengeMacTest, AChallengeOfAnotherKeyIsRefused) {
  const SecretBytes key = *RandomSecret(32);
  const ChallengeMac a = *ChallengeMac::Create(key.Clone());
  const ChallengeMac same = *ChallengeMac::Create(key.Clone());
  const std::string id = a.Mint("disk", kExpiry)->id;
  EXPECT_TRUE(same.Verify(id, "disk").has_value());  // another replica with the same key
  EXPECT_FALSE(Mac().Verify(id, "disk").has_value());
}

TEST(ChallengeMacTest, CreateRefusesAKeyThatIsNot32Bytes) {
  EXPECT_THAT(ChallengeMac::Create(*RandomSecret(16)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ChallengeMac::Create(SecretBytes()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kb
