// The optional "evidence" field of the keybroker LUKS2 token (docs/token.md).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "unlocker/volume/token_json.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kJson[] =
    R"({"type":"keybroker","keyslots":["1"],"kb_version":1,"endpoints":["10.0.2.100:8443"],)"
    R"("ca_sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",)"
    R"("key_id":"root-disk","key_version":1,"pcrs":[0,7],"transfer_key":"ecc-p256")";

TEST(EvidenceTokenTest, AbsentMeansTpm) {
  auto token = KeybrokerTokenFromJson(std::string(kJson) + "}");
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->evidence, "tpm");
}

TEST(EvidenceTokenTest, TpmIsNotWrittenSoOldTokensStayIdentical) {
  auto token = KeybrokerTokenFromJson(std::string(kJson) + "}");
  ASSERT_THAT(token, IsOk());
  auto json = KeybrokerTokenToJson(*token);
  ASSERT_THAT(json, IsOk());
  EXPECT_THAT(*json, Not(HasSubstr("evidence")));
}

TEST(EvidenceTokenTest, RoundTripsEveryKind) {
  for (const char* kind : {"tpm", "azure", "snp", "tdx"}) {
    auto token = KeybrokerTokenFromJson(std::string(kJson) + R"(,"evidence":")" + kind + "\"}");
    ASSERT_THAT(token, IsOk()) << kind << ": " << token.status();
    EXPECT_EQ(token->evidence, kind);
    token->keyslot = 1;
    auto json = KeybrokerTokenToJson(*token);
    ASSERT_THAT(json, IsOk());
    auto again = KeybrokerTokenFromJson(*json);
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(again->evidence, kind);
  }
}

TEST(EvidenceTokenTest, RejectsUnknownKindAndWrongType) {
  for (const char* bad : {R"("sgx")", "1", R"("")"}) {
    auto token = KeybrokerTokenFromJson(std::string(kJson) + R"(,"evidence":)" + bad + "}");
    ASSERT_FALSE(token.ok()) << bad;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(token.status().message()), HasSubstr("evidence"));
  }
}

}  // namespace
}  // namespace kb
