#include "unlocker/volume/token_json.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr char kCa[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string ValidJson() {
  return absl::StrReplaceAll(
      R"({"type":"keybroker","keyslots":["1"],"kb_version":1,"endpoints":["10.0.2.100:8443"],)"
      R"("ca_sha256":"CA","key_id":"root-disk","key_version":1,"pcrs":[0,7],)"
      R"("transfer_key":"ecc-p256"})",
      {{"CA", kCa}});
}

// Replaces `from` in the valid JSON and expects INVALID_ARGUMENT mentioning `field`.
void ExpectRejected(absl::string_view from, absl::string_view to, absl::string_view field) {
  std::string json = absl::StrReplaceAll(ValidJson(), {{from, to}});
  ASSERT_NE(json, ValidJson()) << "replacement did not apply: " << from;
  auto token = KeybrokerTokenFromJson(json);
  ASSERT_FALSE(token.ok()) << json;
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr(absl::StrCat("\"", field, "\"")))
      << json;
}

KeybrokerToken SampleToken() {
  KeybrokerToken token;
  token.keyslot = 3;
  token.endpoints = {"10.0.2.100:8443", "[fd00::1]:8443", "broker.example:443"};
  token.ca_sha256 = kCa;
  token.key_id = "root-disk";
  token.key_version = 7;
  token.pcrs = {0, 7, 14};
  token.transfer_key = "rsa-3072";
  return token;
}

TEST(TokenJsonTest, ParsesDocumentedExample) {
  auto token = KeybrokerTokenFromJson(ValidJson());
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->token_id, -1);
  EXPECT_EQ(token->keyslot, 1);
  EXPECT_THAT(token->endpoints, ::testing::ElementsAre("10.0.2.100:8443"));
  EXPECT_EQ(token->ca_sha256, kCa);
  EXPECT_EQ(token->key_id, "root-disk");
  EXPECT_EQ(token->key_version, 1u);
  EXPECT_THAT(token->pcrs, ::testing::ElementsAre(0u, 7u));
  EXPECT_EQ(token->transfer_key, "ecc-p256");
}

TEST(TokenJsonTest, RoundTrip) {
  KeybrokerToken in = SampleToken();
  in.key_id = "quote\"back\\slash";
  auto json = KeybrokerTokenToJson(in);
  ASSERT_THAT(json, IsOk());
  auto out = KeybrokerTokenFromJson(*json);
  ASSERT_THAT(out, IsOk()) << out.status() << " " << *json;
  EXPECT_EQ(out->keyslot, in.keyslot);
  EXPECT_EQ(out->endpoints, in.endpoints);
  EXPECT_EQ(out->ca_sha256, in.ca_sha256);
  EXPECT_EQ(out->key_id, in.key_id);
  EXPECT_EQ(out->key_version, in.key_version);
  EXPECT_EQ(out->pcrs, in.pcrs);
  EXPECT_EQ(out->transfer_key, in.transfer_key);
}

TEST(TokenJsonTest, SerialisesLuks2RequiredFields) {
  auto json = KeybrokerTokenToJson(SampleToken());
  ASSERT_THAT(json, IsOk());
  EXPECT_THAT(*json, HasSubstr(R"("type":"keybroker")"));
  EXPECT_THAT(*json, HasSubstr(R"("keyslots":["3"])"));
  EXPECT_THAT(*json, HasSubstr(R"("kb_version":1)"));
}

TEST(TokenJsonTest, UppercaseHexIsNormalised) {
  std::string upper = absl::StrReplaceAll(kCa, {{"aa", "AA"}, {"ff", "FF"}});
  auto token = KeybrokerTokenFromJson(absl::StrReplaceAll(ValidJson(), {{kCa, upper}}));
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->ca_sha256, kCa);
}

TEST(TokenJsonTest, UnknownFieldsAreIgnored) {
  auto token = KeybrokerTokenFromJson(absl::StrReplaceAll(
      ValidJson(), {{R"("pcrs")", R"("sealed":{"blob":"abc","n":[1,2]},"pcrs")"}}));
  EXPECT_THAT(token, IsOk());
}

TEST(TokenJsonTest, RejectsNonJsonAndNonObjects) {
  for (const char* bad : {"", "not json", "[1,2]", "\"str\"", "{\"type\":\"keybroker\""}) {
    auto token = KeybrokerTokenFromJson(bad);
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(TokenJsonTest, RejectsMissingFields) {
  for (const char* field : {"type", "kb_version", "endpoints", "ca_sha256", "key_id", "key_version",
                            "pcrs", "transfer_key", "keyslots"}) {
    ExpectRejected(absl::StrCat("\"", field, "\""), "\"renamed_field\"", field);
  }
}

TEST(TokenJsonTest, RejectsWrongTypes) {
  ExpectRejected(R"("type":"keybroker")", R"("type":"systemd-tpm2")", "type");
  ExpectRejected(R"("kb_version":1)", R"("kb_version":"1")", "kb_version");
  ExpectRejected(R"("kb_version":1)", R"("kb_version":2)", "kb_version");
  ExpectRejected(R"("key_version":1)", R"("key_version":"1")", "key_version");
  ExpectRejected(R"("key_version":1)", R"("key_version":-1)", "key_version");
  ExpectRejected(R"("key_version":1)", R"("key_version":1.5)", "key_version");
  ExpectRejected(R"("key_version":1)", R"("key_version":4294967296)", "key_version");
  ExpectRejected(R"("key_id":"root-disk")", R"("key_id":7)", "key_id");
  ExpectRejected(R"("key_id":"root-disk")", R"("key_id":"")", "key_id");
  ExpectRejected(R"("pcrs":[0,7])", R"("pcrs":"0,7")", "pcrs");
  ExpectRejected(R"("pcrs":[0,7])", R"("pcrs":["0"])", "pcrs");
  ExpectRejected(R"("pcrs":[0,7])", R"("pcrs":[24])", "pcrs");
  ExpectRejected(R"("pcrs":[0,7])", R"("pcrs":[7,7])", "pcrs");
  ExpectRejected(R"("endpoints":["10.0.2.100:8443"])", R"("endpoints":"10.0.2.100:8443")",
                 "endpoints");
  ExpectRejected(R"("endpoints":["10.0.2.100:8443"])", R"("endpoints":[1])", "endpoints");
}

TEST(TokenJsonTest, RejectsBadValues) {
  ExpectRejected(kCa, "00112233", "ca_sha256");
  ExpectRejected(kCa, absl::StrCat("zz", std::string(kCa).substr(2)), "ca_sha256");
  ExpectRejected(R"("endpoints":["10.0.2.100:8443"])", R"("endpoints":[])", "endpoints");
  ExpectRejected("10.0.2.100:8443", "10.0.2.100", "endpoints");
  ExpectRejected("10.0.2.100:8443", "10.0.2.100:0", "endpoints");
  ExpectRejected("10.0.2.100:8443", "10.0.2.100:99999", "endpoints");
  ExpectRejected("10.0.2.100:8443", ":8443", "endpoints");
  ExpectRejected("10.0.2.100:8443", "fd00::1:8443", "endpoints");
  ExpectRejected(R"("ecc-p256")", R"("ecc-p384")", "transfer_key");
}

TEST(TokenJsonTest, RejectsKeyslotsNotExactlyOneNumericString) {
  const char* from = R"("keyslots":["1"])";
  ExpectRejected(from, R"("keyslots":[])", "keyslots");
  ExpectRejected(from, R"("keyslots":["1","2"])", "keyslots");
  ExpectRejected(from, R"("keyslots":[1])", "keyslots");
  ExpectRejected(from, R"("keyslots":["x"])", "keyslots");
  ExpectRejected(from, R"("keyslots":["-1"])", "keyslots");
  ExpectRejected(from, R"("keyslots":["1a"])", "keyslots");
  ExpectRejected(from, R"("keyslots":"1")", "keyslots");
}

TEST(TokenJsonTest, SerialiserValidates) {
  KeybrokerToken token = SampleToken();
  token.endpoints.clear();
  EXPECT_EQ(KeybrokerTokenToJson(token).status().code(), absl::StatusCode::kInvalidArgument);
  token = SampleToken();
  token.keyslot = -1;
  EXPECT_EQ(KeybrokerTokenToJson(token).status().code(), absl::StatusCode::kInvalidArgument);
  token = SampleToken();
  token.transfer_key = "none";
  EXPECT_EQ(KeybrokerTokenToJson(token).status().code(), absl::StatusCode::kInvalidArgument);
  token = SampleToken();
  token.key_id = "line\nbreak";
  EXPECT_EQ(KeybrokerTokenToJson(token).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenJsonTest, VtpmIsOptionalAndRoundTripsInLowerCase) {
  EXPECT_TRUE(KeybrokerTokenFromJson(ValidJson())->vtpm.empty());
  EXPECT_THAT(*KeybrokerTokenToJson(*KeybrokerTokenFromJson(ValidJson())),
              ::testing::Not(HasSubstr("vtpm")));
  KeybrokerToken token = SampleToken();
  token.vtpm = "0123456789ABCDEF0123456789abcdef";
  auto json = KeybrokerTokenToJson(token);
  ASSERT_THAT(json, IsOk());
  EXPECT_THAT(*json, HasSubstr(R"("vtpm":"0123456789abcdef0123456789abcdef")"));
  EXPECT_EQ(KeybrokerTokenFromJson(*json)->vtpm, "0123456789abcdef0123456789abcdef");
  ExpectRejected(R"("transfer_key":"ecc-p256")", R"("transfer_key":"ecc-p256","vtpm":"12")",
                 "vtpm");
  ExpectRejected(R"("transfer_key":"ecc-p256")", R"("transfer_key":"ecc-p256","vtpm":7)", "vtpm");
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

TEST(TokenJsonTest, ConfirmedIsOptionalAndRoundTrips) {
  auto legacy = KeybrokerTokenFromJson(ValidJson());
  ASSERT_THAT(legacy, IsOk());
  EXPECT_FALSE(legacy->confirmed.has_value());
  // Tokens from before confirmations are written back byte for byte.
  EXPECT_THAT(*KeybrokerTokenToJson(*legacy), ::testing::Not(HasSubstr("confirmed")));
  for (bool confirmed : {false, true}) {
    KeybrokerToken token = SampleToken();
    token.confirmed = confirmed;
    auto json = KeybrokerTokenToJson(token);
    ASSERT_THAT(json, IsOk());
    EXPECT_THAT(*json, HasSubstr(confirmed ? "\"confirmed\":true" : "\"confirmed\":false"));
    auto parsed = KeybrokerTokenFromJson(*json);
    ASSERT_THAT(parsed, IsOk());
    ASSERT_TRUE(parsed->confirmed.has_value());
    EXPECT_EQ(*parsed->confirmed, confirmed);
  }
  ExpectRejected(R"("transfer_key":"ecc-p256")", R"("transfer_key":"ecc-p256","confirmed":"yes")",
                 "confirmed");
  ExpectRejected(R"("transfer_key":"ecc-p256")", R"("transfer_key":"ecc-p256","confirmed":0)",
                 "confirmed");
}

}  // namespace
}  // namespace kb
