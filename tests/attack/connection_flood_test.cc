// Issue 9, weakness 1: one unauthenticated client could take the broker offline by holding
// connections. Attacked here the same way, over the real release port of a real keybrokerd:
// half-open TCP and idle TLS/HTTP/2 connections from many loopback addresses, more than the
// caps; a guest from another address must still unlock within its deadline, during the flood
// and after it, while the broker stays within its memory bound.
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_client.h"
#include "tests/attack/raw_connections.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

constexpr int kMaxConnections = 300;
constexpr int kMaxPerSource = 20;
constexpr size_t kRssBoundKib = 64 * 1024;
constexpr size_t kDefaultCapRssBoundKib = 112 * 1024;

class ConnectionFloodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerProcess::Options options;
    options.extra_config =
        absl::StrCat(R"("connection_limits":{"max_connections":)", kMaxConnections,
                     R"(,"max_connections_per_source":)", kMaxPerSource,
                     R"(,"handshake_timeout_seconds":20,"idle_timeout_seconds":60})");
    auto broker = BrokerProcess::Start(options);
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
    auto guest = MakeGuest(*broker_, "flood-vm", "flood-disk");
    ASSERT_THAT(guest, IsOk());
    guest_ = std::move(*guest);
    port_ = std::stoi(broker_->release_endpoint().substr(10));
  }

  absl::Status GuestUnlocks() {
    return ReleaseWithin(*broker_, *guest_, "flood-disk", absl::Seconds(10)).status();
  }

  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<SoftwareTpm> guest_;
  int port_ = 0;
};

TEST_F(ConnectionFloodTest, AGuestUnlocksDuringAndAfterAFloodFromManyAddresses) {
  ASSERT_THAT(GuestUnlocks(), IsOk());
  RawConnections flood;
  // 40 addresses x 10 half-open connections: 400, over the total cap of 300.
  for (int a = 1; a <= 40; ++a) {
    for (int i = 0; i < 10; ++i) flood.OpenHalfOpen(absl::StrCat("127.0.1.", a), port_);
  }
  // 20 addresses x 5 connections through TLS and the HTTP/2 preface, then idle.
  int tls_ok = 0;
  for (int a = 1; a <= 20; ++a) {
    for (int i = 0; i < 5; ++i) tls_ok += flood.OpenIdleTls(absl::StrCat("127.0.2.", a), port_);
  }
  EXPECT_GT(tls_ok, 50) << "the idle TLS connections should mostly get through";
  // One address trying twice its cap.
  RawConnections greedy;
  for (int i = 0; i < 2 * kMaxPerSource; ++i) greedy.OpenHalfOpen("127.0.3.1", port_);
  ASSERT_EQ(flood.size(), 500u);

  // During the flood: the guest gets in, by evicting the connection idle the longest.
  absl::Status during = GuestUnlocks();
  EXPECT_THAT(during, IsOk());
  const size_t rss = RssKib(broker_->pid());
  if (!kSanitizerBuild) {
    EXPECT_LE(rss, kRssBoundKib) << "broker RSS during the flood: " << rss << " KiB";
  }
  // The caps were enforced: the oldest idle connections were evicted, the greedy address was
  // refused past its cap.
  EXPECT_GE(flood.ClosedByServer(), 500u - kMaxConnections);
  EXPECT_GE(greedy.ClosedByServer(), static_cast<size_t>(kMaxPerSource));

  const size_t held = flood.size() - flood.ClosedByServer();
  flood.CloseAll();
  greedy.CloseAll();
  absl::Status after = GuestUnlocks();
  EXPECT_THAT(after, IsOk());
  // Refusals and evictions are summed up, not logged one line per connection.
  EXPECT_LE(CountLogLines(*broker_, "release_listen:"), 3);
  EXPECT_LE(CountLogLines(*broker_, " grpc "), 5);
  std::printf(
      "flood: %zu of 500 flood connections still held at the cap of %d; guest unlocked "
      "during and after; broker RSS %zu KiB\n",
      held, kMaxConnections, rss);
}

// docs/operations.md states the broker's memory at its default connection cap: measured here,
// with every connection through TLS and the HTTP/2 preface (the most a client can make the
// broker hold without a call).
TEST(ConnectionMemoryTest, BrokerRssAtTheDefaultCapStaysWithinItsBound) {
  if (kSanitizerBuild) GTEST_SKIP() << "RSS under a sanitizer says nothing about the broker";
  auto broker = BrokerProcess::Start();
  ASSERT_THAT(broker, IsOk());
  const int port = std::stoi((*broker)->release_endpoint().substr(10));
  const size_t idle_rss = RssKib((*broker)->pid());
  RawConnections held;
  int ok = 0;
  for (int i = 0; i < 1024; ++i) ok += held.OpenIdleTls(absl::StrCat("127.0.5.", 1 + i / 16), port);
  EXPECT_EQ(ok, 1024);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(held.ClosedByServer(), 0u);
  const size_t rss = RssKib((*broker)->pid());
  // gRPC 1.51 holds ~80 KiB per idle TLS connection (docs/operations.md): the default cap's
  // stated bound is 112 MiB; a cap of 500 keeps the broker within 64 MiB.
  EXPECT_LE(rss, kDefaultCapRssBoundKib)
      << "broker RSS at 1024 idle TLS connections: " << rss << " KiB";
  std::printf("broker RSS: %zu KiB idle, %zu KiB with 1024 idle TLS connections (%zu KiB each)\n",
              idle_rss, rss, (rss - idle_rss) / 1024);
}

TEST(HandshakeDeadlineTest, HalfOpenConnectionsAreClosedAtTheDeadline) {
  // A broker whose handshake deadline is 2 s.
  BrokerProcess::Options options;
  options.extra_config = R"("connection_limits":{"handshake_timeout_seconds":2})";
  auto broker = BrokerProcess::Start(options);
  ASSERT_THAT(broker, IsOk());
  const int port = std::stoi((*broker)->release_endpoint().substr(10));
  RawConnections held;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(held.OpenHalfOpen("127.0.4.1", port));
  EXPECT_EQ(held.ClosedByServer(), 0u);
  for (int i = 0; i < 100 && held.ClosedByServer() < 20; ++i)
    absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(held.ClosedByServer(), 20u) << "gRPC's handshake deadline closes them";
}

TEST(SecondBrokerTest, RefusesToStartOnAPortInUse) {
  auto first = BrokerProcess::Start();
  ASSERT_THAT(first, IsOk());
  const std::string dir = (*first)->dir();
  const std::string config = absl::StrCat(
      R"({"release_listen":")", (*first)->release_endpoint(),
      R"(","admin_listen":"127.0.0.1:0","tls_cert_file":"server.pem","tls_key_file":"server.key",)",
      R"("operator_ca_file":"operator-ca.pem","database_path":"second.db","kek_file":"kek"})");
  ASSERT_THAT(WriteFileAtomic(dir + "/second.json", config, 0600), IsOk());
  CommandResult second = RunCommand({BinaryPath("keybrokerd"), "--config", dir + "/second.json"});
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("Address already in use"), std::string::npos) << second.output;
}

}  // namespace
}  // namespace kb
