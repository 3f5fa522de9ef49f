#include "unlocker/cli/status_output.h"

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

KeybrokerToken Token() {
  KeybrokerToken t;
  t.token_id = 1;
  t.keyslot = 2;
  t.endpoints = {"b1:8443", "b2:8443"};
  t.ca_sha256 = std::string(64, 'a');
  t.key_id = "disk \"quoted\"\n";  // escaped by the JSON writer, not by us
  t.key_version = 3;
  t.pcrs = {0, 7};
  t.offline = OfflineSeal{};
  return t;
}

TEST(StatusOutputTest, JsonIsOneParsableObjectWithEveryField) {
  const std::string json =
      StatusJson("/dev/vda3", {{0, "active"}, {1, "inactive"}, {2, "active"}}, {Token()});
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  EXPECT_EQ(parsed.fields().at("keyslots").list_value().values_size(), 2);  // inactive left out
  const auto& t = parsed.fields().at("tokens").list_value().values(0).struct_value().fields();
  EXPECT_EQ(t.at("key_id").string_value(), "disk \"quoted\"\n");
  EXPECT_EQ(t.at("brokers").list_value().values(1).string_value(), "b2:8443");
  EXPECT_TRUE(t.at("offline_copy").bool_value());
  EXPECT_EQ(t.at("confirmed").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(t.at("ak_trust").string_value(), "registered");
  EXPECT_EQ(t.at("key_version").number_value(), 3);
}

TEST(StatusOutputTest, TextListsTokensOrSaysNone) {
  EXPECT_THAT(StatusText({{0, "active"}}, {}), HasSubstr("keybroker tokens: none"));
  KeybrokerToken t = Token();
  t.confirmed = true;
  EXPECT_THAT(StatusText({{0, "active"}}, {t}),
              HasSubstr("version 3, brokers b1:8443,b2:8443, pcrs [0,7]"));
  EXPECT_THAT(StatusText({{0, "active"}}, {t}), HasSubstr("enrolment confirmed to the broker"));
}

}  // namespace
}  // namespace kb
