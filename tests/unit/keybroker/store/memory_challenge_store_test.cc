// The challenges of a broker on SQLite, held in its memory: single use under concurrency,
// expired ones dropped, nothing found that was not issued.
#include "keybroker/store/memory_challenge_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

Challenge Issued(const std::string& id, absl::Duration ttl = absl::Seconds(60)) {
  return {id, "disk", std::string(32, 'n'), kNow + ttl};
}

TEST(MemoryChallengeStoreTest, AChallengeIsRedeemedOnce) {
  MemoryChallengeStore challenges;
  ASSERT_THAT(challenges.Put(Issued("c1"), kNow), IsOk());
  auto c = challenges.Consume("c1", "disk");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->id, "c1");
  EXPECT_EQ(c->key_id, "disk");
  EXPECT_EQ(c->nonce, std::string(32, 'n'));
  EXPECT_EQ(c->expires_at, kNow + absl::Seconds(60));
  EXPECT_EQ(challenges.Consume("c1", "disk").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(challenges.Consume("unknown", "disk").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(challenges.size(), 0u);
}

TEST(MemoryChallengeStoreTest, ANewChallengeIsARandomNonceNamedByItsHex) {
  MemoryChallengeStore challenges;
  auto a = challenges.New("disk", kNow + absl::Seconds(60));
  auto b = challenges.New("disk", kNow + absl::Seconds(60));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->nonce.size(), kChallengeNonceSize);
  EXPECT_EQ(a->id, HexEncode(a->nonce));
  EXPECT_EQ(a->key_id, "disk");
  EXPECT_EQ(a->expires_at, kNow + absl::Seconds(60));
  EXPECT_NE(a->nonce, b->nonce);
  // Not issued until Put().
  EXPECT_EQ(challenges.Consume(a->id, "disk").status().code(), absl::StatusCode::kNotFound);
  ASSERT_THAT(challenges.Put(*a, kNow), IsOk());
  EXPECT_THAT(challenges.Consume(a->id, "disk"), IsOk());
}

TEST(MemoryChallengeStoreTest, AnIdIsNotIssuedTwice) {
  MemoryChallengeStore challenges;
  ASSERT_THAT(challenges.Put(Issued("c1"), kNow), IsOk());
  EXPECT_EQ(challenges.Put(Issued("c1"), kNow).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_THAT(challenges.Consume("c1", "disk"), IsOk());
  EXPECT_EQ(challenges.Consume("c1", "disk").status().code(), absl::StatusCode::kNotFound);
}

TEST(MemoryChallengeStoreTest, OfConcurrentRedemptionsExactlyOneGetsTheChallenge) {
  MemoryChallengeStore challenges;
  constexpr int kChallenges = 200, kThreads = 8;
  for (int i = 0; i < kChallenges; ++i) {
    ASSERT_THAT(challenges.Put(Issued(absl::StrCat("c", i)), kNow), IsOk());
  }
  std::atomic<int> redeemed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kChallenges; ++i) {
        if (challenges.Consume(absl::StrCat("c", i), "disk").ok()) ++redeemed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(redeemed.load(), kChallenges);
  EXPECT_EQ(challenges.size(), 0u);
}

TEST(MemoryChallengeStoreTest, ExpiredChallengesAreDroppedAtTheSweep) {
  MemoryChallengeStore challenges;
  ASSERT_THAT(challenges.Put(Issued("short", absl::Seconds(1)), kNow), IsOk());
  ASSERT_THAT(challenges.Put(Issued("long", absl::Hours(1)), kNow), IsOk());
  // The 256th Put sweeps what expired before its time.
  const absl::Time later = kNow + absl::Minutes(1);
  for (int i = 3; i <= 256; ++i) {
    ASSERT_THAT(challenges.Put({absl::StrCat("c", i), "disk", "n", later + absl::Hours(1)}, later),
                IsOk());
  }
  EXPECT_EQ(challenges.size(), 255u);
  EXPECT_EQ(challenges.Consume("short", "disk").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(challenges.Consume("long", "disk"), IsOk());
}

}  // namespace
}  // namespace kb
