// The request-side bounds against hostile clients: the challenge quota and the tally of
// requests refused before evidence.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/service/challenge_quota.h"
#include "keybroker/service/refusal_tally.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(ChallengeQuotaTest, BoundsPerSourceAndInAll) {
  ChallengeQuota q(/*max_total=*/3, /*max_per_source=*/2);
  const absl::Time exp = kT0 + absl::Seconds(60);
  ASSERT_THAT(q.Reserve("c1", "10.0.0.1", exp, kT0), IsOk());
  ASSERT_THAT(q.Reserve("c2", "10.0.0.1", exp, kT0), IsOk());
  absl::Status s = q.Reserve("c3", "10.0.0.1", exp, kT0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("this address holds its maximum of 2"));
  ASSERT_THAT(q.Reserve("c3", "10.0.0.2", exp, kT0), IsOk());
  s = q.Reserve("c4", "10.0.0.3", exp, kT0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("maximum of 3 outstanding challenges; retry in 1m"));
  q.Release("c1");  // redeemed
  EXPECT_THAT(q.Reserve("c4", "10.0.0.1", exp, kT0), IsOk());
  EXPECT_EQ(q.outstanding(), 3u);
}

TEST(ChallengeQuotaTest, ExpiredChallengesFreeTheirPlace) {
  ChallengeQuota q(2, 2);
  ASSERT_THAT(q.Reserve("a", "s", kT0 + absl::Seconds(10), kT0), IsOk());
  ASSERT_THAT(q.Reserve("b", "s", kT0 + absl::Seconds(20), kT0), IsOk());
  EXPECT_FALSE(q.Reserve("c", "s", kT0 + absl::Seconds(30), kT0 + absl::Seconds(5)).ok());
  EXPECT_THAT(q.Reserve("c", "s", kT0 + absl::Seconds(30), kT0 + absl::Seconds(10)), IsOk());
  EXPECT_EQ(q.outstanding(), 2u);
  q.Release("unknown");
  EXPECT_EQ(q.outstanding(), 2u);
}

class FakeClock : public Clock {
 public:
  absl::Time Now() const override { return now; }
  absl::Time now = kT0;
};

TEST(RefusalTallyTest, CountsInsteadOfOneRecordEach) {
  auto db = OpenBrokerDatabase(":memory:");
  ASSERT_THAT(db, IsOk());
  SqliteAuditLog audit(*db);
  FakeClock clock;
  {
    RefusalTally tally(&audit, &clock, absl::Seconds(60));
    for (int i = 0; i < 2000; ++i) tally.Count("release", "10.0.0.7", "challenge_id is empty");
    tally.Count("release", "10.0.0.8", "evidence is missing");
    auto none = audit.List({});
    ASSERT_THAT(none, IsOk());
    EXPECT_TRUE(none->empty());  // nothing written before the interval
    clock.now += absl::Seconds(61);
    tally.Count("release", "10.0.0.7", "challenge_id is empty");  // due: writes the tally
  }
  auto records = audit.List({});
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 2u);
  std::string all;
  for (const AuditRecord& r : *records) {
    EXPECT_EQ(r.action, "release_refused_unverified");
    EXPECT_EQ(r.decision, "deny");
    all += r.actor + " " + r.reason + "\n";
  }
  EXPECT_THAT(all, HasSubstr("peer-address:10.0.0.7 2001 request(s) refused before evidence"));
  EXPECT_THAT(all, HasSubstr("peer-address:10.0.0.8 1 request(s)"));
  EXPECT_TRUE(audit.Verify()->ok);
}

TEST(RefusalTallyTest, BoundsTheNumberOfSources) {
  auto db = OpenBrokerDatabase(":memory:");
  ASSERT_THAT(db, IsOk());
  SqliteAuditLog audit(*db);
  FakeClock clock;
  {
    RefusalTally tally(&audit, &clock, absl::Seconds(60), /*max_entries=*/4);
    for (int i = 0; i < 100; ++i) tally.Count("release", "10.0.1." + std::to_string(i), "bad");
  }
  auto records = audit.List({});
  ASSERT_THAT(records, IsOk());
  EXPECT_EQ(records->size(), 5u);
  EXPECT_EQ(records->front().actor.rfind("peer-address:", 0), 0u);
}

TEST(PeerAddressTest, StripsSchemeAndPort) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.7:51234"), "10.0.0.7");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(PeerAddress("unix:/run/x"), "unix:/run/x");
  EXPECT_EQ(PeerAddress(""), "");
}

}  // namespace
}  // namespace kb
