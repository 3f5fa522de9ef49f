#include "unlocker/token_plugin/plugin_settings.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

TEST(PluginSettingsTest, ReadsTheInitramfsSettingsFile) {
  auto s = ParsePluginSettings(
      "# keybroker boot settings\n"
      "KEYBROKER_TIMEOUT=15\n"
      "export KEYBROKER_CA=\"/etc/keybroker/other ca.pem\"\n"
      "KEYBROKER_TCTI='swtpm:host=127.0.0.1,port=2321'  # a comment\n"
      "  KEYBROKER_OFFLINE_AFTER=3 # seconds\n"
      "KEYBROKER_DEVICE_WAIT=30\n"  // the initramfs's own: skipped
      "\n"
      "KEYBROKER_SEV_GUEST=/etc/keybroker/fw\n");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->timeout, absl::Seconds(15));
  EXPECT_EQ(s->offline_after, absl::Seconds(3));
  EXPECT_EQ(s->ca_file, "/etc/keybroker/other ca.pem");
  EXPECT_EQ(s->tcti, "swtpm:host=127.0.0.1,port=2321");
  EXPECT_EQ(s->sev_guest, "/etc/keybroker/fw");
  EXPECT_EQ(s->tsm_report_dir, "/sys/kernel/config/tsm/report");
}

TEST(PluginSettingsTest, DefaultsAreTheInitramfsDefaults) {
  auto s = ParsePluginSettings("");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->timeout, absl::Seconds(60));
  EXPECT_EQ(s->offline_after, absl::Seconds(10));
  EXPECT_EQ(s->ca_file, "/etc/keybroker/ca.pem");
  EXPECT_EQ(s->tcti, "device:/dev/tpmrm0");
}

TEST(PluginSettingsTest, NamesTheBadLine) {
  EXPECT_THAT(ParsePluginSettings("KEYBROKER_TIMEOUT=10\nnonsense\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2: not NAME=VALUE")));
  EXPECT_THAT(ParsePluginSettings("KEYBROKER_CA=\"/unterminated\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(ParsePluginSettings("\nKEYBROKER_TIMEOUT=soon\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2: KEYBROKER_TIMEOUT: not a positive number of seconds")));
  EXPECT_THAT(ParsePluginSettings("KEYBROKER_OFFLINE_AFTER=0\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PluginSettingsTest, AMissingFileMeansTheDefaults) {
  auto s = LoadPluginSettings("/nonexistent/keybroker");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->timeout, absl::Seconds(60));
}

}  // namespace
}  // namespace kb
