// A KEK whose calls a request leaves at its deadline (keybroker/kek/deadline_bound_kek.h), over a
// KEK that stops answering while the test holds its gate shut: an HSM that hangs.
#include "keybroker/kek/deadline_bound_kek.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/request_deadline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kThrough = "through the shut gate";

// Shared between a test and its GatedKek, which the DeadlineBoundKek owns.
struct Gate {
  std::mutex mu;
  std::condition_variable opened;
  bool open = true;
  std::atomic<int> calls{0};           // calls that got through
  std::atomic<bool> destroyed{false};  // the GatedKek is gone

  void Set(bool is_open) {
    std::lock_guard<std::mutex> lock(mu);
    open = is_open;
    opened.notify_all();
  }
  // Waits while the gate is shut, unless the call's AAD is kThrough.
  void Pass(absl::string_view aad) {
    std::unique_lock<std::mutex> lock(mu);
    opened.wait(lock, [this, aad] { return open || aad == kThrough; });
    ++calls;
  }
};

class GatedKek final : public Kek {
 public:
  GatedKek(std::unique_ptr<Kek> kek, std::shared_ptr<Gate> gate)
      : kek_(std::move(kek)), gate_(std::move(gate)) {}
  ~GatedKek() override { gate_->destroyed = true; }
  absl::StatusOr<std::string> Seal(const SecretBytes& plaintext, absl::string_view aad) override {
    gate_->Pass(aad);
    return kek_->Seal(plaintext, aad);
  }
  absl::StatusOr<SecretBytes> Open(absl::string_view sealed, absl::string_view aad) override {
    gate_->Pass(aad);
    return kek_->Open(sealed, aad);
  }
  std::string Describe() const override { return "the gated test KEK"; }
  std::string Fingerprint() const override { return kek_->Fingerprint(); }

 private:
  std::unique_ptr<Kek> kek_;
  std::shared_ptr<Gate> gate_;
};

class DeadlineBoundKekTest : public ::testing::Test {
 protected:
  std::unique_ptr<DeadlineBoundKek> Make(size_t max_calls) {
    auto aes = AesKek::Create(*RandomSecret(32), "aes");
    EXPECT_THAT(aes, IsOk());
    return std::make_unique<DeadlineBoundKek>(std::make_unique<GatedKek>(*std::move(aes), gate_),
                                              max_calls, tally_);
  }
  // Polls `done` (at most 10 s) until it holds; whether it did. `done` is asked once per poll
  // and its last answer counts: it may be a call whose answer changes, such as a KEK call.
  template <typename Done>
  static bool Eventually(Done done) {
    const absl::Time end = absl::Now() + absl::Seconds(10);
    while (!done()) {
      if (absl::Now() >= end) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  std::shared_ptr<KekCallTally> tally_ = std::make_shared<KekCallTally>();
  const SecretBytes material_ = SecretBytes::FromString("a key version's material");
};

TEST_F(DeadlineBoundKekTest, AnswersWithAndWithoutARequestDeadline) {
  auto kek = Make(4);
  EXPECT_EQ(kek->Describe(), "the gated test KEK");
  EXPECT_EQ(kek->Fingerprint().size(), 16u);
  auto sealed = kek->Seal(material_, "aad");  // no deadline: on this thread
  ASSERT_THAT(sealed, IsOk());
  {
    const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
    auto opened = kek->Open(*sealed, "aad");
    ASSERT_THAT(opened, IsOk());
    EXPECT_TRUE(ConstantTimeEquals(*opened, material_));
    EXPECT_THAT(kek->Open(*sealed, "other aad"), StatusIs(absl::StatusCode::kDataLoss));
    sealed = kek->Seal(material_, "aad2");
    ASSERT_THAT(sealed, IsOk());
  }
  auto opened = kek->Open(*sealed, "aad2");
  ASSERT_THAT(opened, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*opened, material_));
  EXPECT_EQ(gate_->calls, 5);
  EXPECT_EQ(tally_->waiting, 0);  // only calls through its threads are counted, and they answered
  EXPECT_EQ(tally_->abandoned, 0u);
  EXPECT_EQ(tally_->refused, 0u);
}

TEST_F(DeadlineBoundKekTest, ARequestLeavesAKekThatStopsAnsweringAtItsDeadline) {
  auto kek = Make(4);
  auto sealed = kek->Seal(material_, "aad");
  ASSERT_THAT(sealed, IsOk());
  gate_->Set(false);
  const absl::Time start = absl::Now();
  {
    const RequestDeadline::Override deadline(start + absl::Milliseconds(200));
    EXPECT_THAT(kek->Open(*sealed, "aad"),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("did not answer before the request's deadline")));
  }
  {
    const RequestDeadline::Override deadline(absl::Now() + absl::Milliseconds(200));
    EXPECT_THAT(kek->Seal(material_, "aad"),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("did not answer before the request's deadline")));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(tally_->abandoned, 2u);
  EXPECT_EQ(tally_->waiting, 2);  // still in the KEK
  // Once it answers again, so does the next request (the calls left behind end too).
  gate_->Set(true);
  const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
  EXPECT_THAT(kek->Open(*sealed, "aad"), IsOk());
  EXPECT_TRUE(Eventually([this] { return gate_->calls == 4; })) << gate_->calls;
  EXPECT_TRUE(Eventually([this] { return tally_->waiting == 0; })) << tally_->waiting;
  EXPECT_EQ(tally_->abandoned, 2u);
  EXPECT_EQ(tally_->refused, 0u);
}

TEST_F(DeadlineBoundKekTest, AtMostMaxCallsWaitAtOnceAndTheNextFailsAtOnce) {
  auto kek = Make(2);
  auto sealed = kek->Seal(material_, "aad");
  ASSERT_THAT(sealed, IsOk());
  gate_->Set(false);
  for (int i = 0; i < 2; ++i) {
    const RequestDeadline::Override deadline(absl::Now() + absl::Milliseconds(300));
    EXPECT_THAT(kek->Open(*sealed, "aad"),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("did not answer before the request's deadline")));
  }
  {
    const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
    const absl::Time start = absl::Now();
    EXPECT_THAT(kek->Open(*sealed, "aad"),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("2 calls to the KEK are still waiting for its answer")));
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // not its deadline's 30 s
  }
  EXPECT_EQ(tally_->refused, 1u);
  EXPECT_EQ(tally_->abandoned, 2u);
  EXPECT_EQ(tally_->waiting, 2);
  gate_->Set(true);
  const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(Eventually([&] { return kek->Open(*sealed, "aad").ok(); }));
}

TEST_F(DeadlineBoundKekTest, ACallDoesNotWaitBehindOneThatHangs) {
  auto kek = Make(4);
  gate_->Set(false);
  {
    const RequestDeadline::Override deadline(absl::Now() + absl::Milliseconds(300));
    EXPECT_THAT(kek->Seal(material_, "aad"), StatusIs(absl::StatusCode::kUnavailable));
  }
  const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
  auto sealed = kek->Seal(material_, kThrough);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_THAT(kek->Open(*sealed, kThrough), IsOk());
  gate_->Set(true);
}

TEST_F(DeadlineBoundKekTest, ARequestWhoseDeadlinePassedAsksNothing) {
  auto kek = Make(4);
  const RequestDeadline::Override deadline(absl::Now() - absl::Seconds(1));
  EXPECT_THAT(kek->Seal(material_, "aad"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("before the KEK was asked")));
  EXPECT_EQ(gate_->calls, 0);
}

TEST_F(DeadlineBoundKekTest, ItsEndDestroysTheKekWhenNoCallIsInIt) {
  auto kek = Make(4);
  {
    const RequestDeadline::Override deadline(absl::Now() + absl::Seconds(30));
    EXPECT_THAT(kek->Seal(material_, "aad"), IsOk());
  }
  kek.reset();
  EXPECT_TRUE(gate_->destroyed);
}

// A call that hangs may return at any time, the process's exit included: its KEK (a PKCS#11
// module) is never destroyed under it or after it.
TEST_F(DeadlineBoundKekTest, ItsEndDoesNotWaitForACallThatHangsAndKeepsTheKekItIsIn) {
  auto kek = Make(4);
  gate_->Set(false);
  {
    const RequestDeadline::Override deadline(absl::Now() + absl::Milliseconds(300));
    EXPECT_THAT(kek->Seal(material_, "aad"), StatusIs(absl::StatusCode::kUnavailable));
  }
  kek.reset();  // would hang here if it waited for the call
  EXPECT_EQ(tally_->waiting, 1);
  gate_->Set(true);
  EXPECT_TRUE(Eventually([this] { return gate_->calls == 1; }));
  EXPECT_TRUE(Eventually([this] { return tally_->waiting == 0; })) << tally_->waiting;
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(gate_->destroyed);
}

}  // namespace
}  // namespace kb
