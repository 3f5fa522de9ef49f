// Issue 9: keybrokerd killed with SIGKILL at random points under release load, 20 times in a
// row. After each restart: the audit chain verifies, every release a client saw allowed has its
// allow record, and no redeemed challenge can be redeemed again: neither at once, by the process
// that redeemed it, nor after the restarts.
#include <grpcpp/client_context.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_status.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_client.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {
namespace {

constexpr int kRounds = 20;
constexpr int kClients = 4;

// One client's releases in a loop until `stop`: the requests the broker answered allowed, each
// replayed once right after; `replays_accepted` counts the replays it allowed too.
void ReleaseLoop(const BrokerProcess& broker, Tpm& tpm, const std::string& key_id,
                 const std::atomic<bool>& stop, std::vector<v1::ReleaseKeyRequest>& allowed,
                 std::atomic<int>& replays_accepted) {
  auto stub = broker.ReleaseStub();
  while (!stop) {
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
    v1::GetChallengeRequest cr;
    cr.set_key_id(key_id);
    v1::GetChallengeResponse challenge;
    grpc::ClientContext c1;
    c1.set_deadline(deadline);
    if (!stub->GetChallenge(&c1, cr, &challenge).ok()) continue;
    auto request = BuildRequest(tpm, challenge.challenge_id(), challenge.nonce(), key_id);
    if (!request.ok()) continue;
    v1::ReleaseKeyResponse response;
    grpc::ClientContext c2;
    c2.set_deadline(deadline);
    if (!stub->ReleaseKey(&c2, *request, &response).ok()) continue;
    allowed.push_back(*request);
    // Replayed at once, to the process that issued and redeemed the challenge (after a restart
    // every old challenge is unknown anyway: a broker on SQLite keeps them in memory).
    grpc::ClientContext c3;
    c3.set_deadline(deadline);
    if (stub->ReleaseKey(&c3, *request, &response).ok()) ++replays_accepted;
  }
}

size_t AllowRecords(const BrokerProcess& broker, const std::string& key_id) {
  grpc::ClientContext ctx;
  v1::ListAuditEventsRequest req;
  req.set_key_id(key_id);
  req.set_decision("allow");
  req.set_limit(10000);
  v1::ListAuditEventsResponse resp;
  EXPECT_THAT(broker.AdminStub()->ListAuditEvents(&ctx, req, &resp), IsOk());
  return resp.events_size();
}

TEST(SigkillTest, AllowedReleasesAndSingleUseSurviveTwentyKills) {
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  std::vector<std::unique_ptr<SoftwareTpm>> guests;
  for (int c = 0; c < kClients; ++c) {
    auto guest = MakeGuest(**broker, absl::StrCat("kill-vm-", c), absl::StrCat("kill-disk-", c));
    ASSERT_THAT(guest, IsOk());
    guests.push_back(std::move(*guest));
  }
  const unsigned seed = std::random_device()();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(50, 600);
  std::vector<std::vector<v1::ReleaseKeyRequest>> allowed(kClients);
  std::atomic<int> replays_accepted{0};
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        ReleaseLoop(**broker, *guests[c], absl::StrCat("kill-disk-", c), stop, allowed[c],
                    replays_accepted);
      });
    }
    absl::SleepFor(absl::Milliseconds(delay_ms(rng)));
    (*broker)->Kill();
    stop = true;
    for (std::thread& t : clients) t.join();
    ASSERT_THAT((*broker)->Resume(), IsOk())
        << "restart after kill " << round << " (seed " << seed << ")";
  }
  grpc::ClientContext ctx;
  v1::VerifyAuditChainResponse chain;
  ASSERT_THAT((*broker)->AdminStub()->VerifyAuditChain(&ctx, {}, &chain), IsOk());
  EXPECT_TRUE(chain.ok()) << chain.problem();
  size_t total = 0;
  auto stub = (*broker)->ReleaseStub();
  for (int c = 0; c < kClients; ++c) {
    const std::string key_id = absl::StrCat("kill-disk-", c);
    total += allowed[c].size();
    EXPECT_GE(AllowRecords(**broker, key_id), allowed[c].size()) << key_id << " seed " << seed;
    for (const v1::ReleaseKeyRequest& replay : allowed[c]) {
      grpc::ClientContext rc;
      v1::ReleaseKeyResponse response;
      grpc::Status s = stub->ReleaseKey(&rc, replay, &response);
      ASSERT_EQ(s.error_code(), grpc::StatusCode::ABORTED)
          << "a redeemed challenge was accepted again: " << s.error_message();
    }
  }
  EXPECT_EQ(replays_accepted, 0) << "a challenge was redeemed twice in one process";
  EXPECT_GT(total, static_cast<size_t>(kRounds)) << "the load should have released keys";
  std::printf(
      "%d SIGKILLs under load (seed %u): %zu allowed releases, each audited, none "
      "replayable; audit chain of %llu records verifies\n",
      kRounds, seed, total, static_cast<unsigned long long>(chain.records()));
}

}  // namespace
}  // namespace kb
