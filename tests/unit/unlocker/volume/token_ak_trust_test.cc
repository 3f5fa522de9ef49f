// The optional "ak_trust" field of the keybroker LUKS2 token (kbunlock enroll --ak-trust ek).
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "unlocker/volume/token_json.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

KeybrokerToken Token() {
  KeybrokerToken t;
  t.keyslot = 1;
  t.endpoints = {"broker:8443"};
  t.ca_sha256 = std::string(64, 'a');
  t.key_id = "disk";
  t.key_version = 1;
  t.pcrs = {7};
  return t;
}

TEST(TokenAkTrustTest, EkRoundTrips) {
  KeybrokerToken t = Token();
  t.ak_trust = "ek";
  auto json = KeybrokerTokenToJson(t);
  ASSERT_THAT(json, IsOk());
  EXPECT_THAT(*json, HasSubstr(R"("ak_trust":"ek")"));
  auto back = KeybrokerTokenFromJson(*json);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->ak_trust, "ek");
}

TEST(TokenAkTrustTest, AbsentForRegisteredAksSoOlderTokensStayTheSame) {
  auto json = KeybrokerTokenToJson(Token());
  ASSERT_THAT(json, IsOk());
  EXPECT_THAT(*json, Not(HasSubstr("ak_trust")));
  auto back = KeybrokerTokenFromJson(*json);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->ak_trust, "");
}

TEST(TokenAkTrustTest, UnknownOrMistypedValuesAreRejected) {
  KeybrokerToken t = Token();
  t.ak_trust = "tofu";
  EXPECT_EQ(KeybrokerTokenToJson(t).status().code(), absl::StatusCode::kInvalidArgument);
  t.ak_trust = "ek";
  const std::string json = *KeybrokerTokenToJson(t);
  for (const char* bad : {R"("ak_trust":"tofu")", R"("ak_trust":5)"}) {
    auto parsed = KeybrokerTokenFromJson(absl::StrReplaceAll(json, {{R"("ak_trust":"ek")", bad}}));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("ak_trust")) << bad;
  }
}

}  // namespace
}  // namespace kb
