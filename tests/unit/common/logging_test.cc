#include "common/logging.h"

#include "common/grpc/library_logs.h"
#include "gtest/gtest.h"

namespace kb {
namespace {

TEST(EscapeUntrustedTest, NoLineBreaksControlsOrHighBytesSurvive) {
  EXPECT_EQ(EscapeUntrusted("root-disk"), "root-disk");
  EXPECT_EQ(EscapeUntrusted("a\nI release allowed key=x"), "a\\x0aI release allowed key=x");
  EXPECT_EQ(EscapeUntrusted("\x1b[2J\r\\"), "\\x1b[2J\\x0d\\x5c");
  EXPECT_EQ(EscapeUntrusted("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeUntrusted(std::string(100, 'k'), 8), "kkkkkkkk...(100 bytes)");
}

TEST(LogRateLimiterTest, OneLinePerSitePerWindow) {
  LogRateLimiter limiter(absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  EXPECT_TRUE(limiter.Admit("ssl.cc:1", t0).write);
  for (int i = 0; i < 500; ++i)
    EXPECT_FALSE(limiter.Admit("ssl.cc:1", t0 + absl::Seconds(1)).write);
  EXPECT_TRUE(limiter.Admit("other.cc:2", t0 + absl::Seconds(1)).write);
  LogRateLimiter::Verdict v = limiter.Admit("ssl.cc:1", t0 + absl::Seconds(10));
  EXPECT_TRUE(v.write);
  EXPECT_EQ(v.suppressed, 500u);
  EXPECT_EQ(limiter.Admit("ssl.cc:1", t0 + absl::Seconds(30)).suppressed, 0u);
}

}  // namespace
}  // namespace kb
