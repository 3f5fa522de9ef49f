// The guest's unary gRPC client (unlocker/unary_grpc/unary_channel.h) against scripted TLS and
// HTTP/2 servers on 127.0.0.1: each shape of answer a server or a proxy can give, and each way a
// connection can fail. Interoperation with the real keybrokerd is in the integration tests.
#include "unlocker/unary_grpc/unary_channel.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_h2_server.h"
#include "tests/support/status_matchers.h"

namespace kb::unary_grpc {
namespace {

using ::kb::testing::FakeH2Server;
using ::kb::testing::H2Reply;
using ::kb::testing::H2Request;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr absl::string_view kPath = "/kb.v1.KeyRelease/GetChallenge";

class UnaryChannelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new std::string(absl::StrCat(::testing::TempDir(), "/unary_channel_pki"));
    const std::string cmd = absl::StrCat("/bin/sh ", std::getenv("KB_SOURCE_DIR"),
                                         "/tests/integration/make_pki.sh ", *pki_);
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static std::string Pki(absl::string_view name) { return absl::StrCat(*pki_, "/", name); }

  std::unique_ptr<FakeH2Server> Serve(FakeH2Server::Script script,
                                      FakeH2Server::Mode mode = FakeH2Server::Mode::kHttp2) {
    auto server = FakeH2Server::Start(Pki("server.pem"), Pki("server.key"), mode, script);
    EXPECT_THAT(server, IsOk());
    return server.ok() ? *std::move(server) : nullptr;
  }
  std::unique_ptr<UnaryChannel> Channel(const std::string& endpoint,
                                        absl::string_view ca = "ca.pem") {
    auto pem = ReadFile(Pki(ca));
    EXPECT_THAT(pem, IsOk());
    auto channel = UnaryChannel::Create(endpoint, *pem);
    EXPECT_THAT(channel, IsOk());
    return *std::move(channel);
  }
  static H2Reply Message(std::string bytes) {
    H2Reply r;
    r.message = std::move(bytes);
    return r;
  }

  static std::string* pki_;
};
std::string* UnaryChannelTest::pki_ = nullptr;

TEST_F(UnaryChannelTest, SendsTheGrpcRequestAndKeepsTheConnection) {
  auto server = Serve([](const H2Request& r) { return Message("answer to " + r.body.substr(5)); });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "one", absl::Seconds(5)), IsOkAndHolds("answer to one"));
  EXPECT_THAT(channel->Call(kPath, "two", absl::Seconds(5)), IsOkAndHolds("answer to two"));
  EXPECT_EQ(server->connections(), 1);
  EXPECT_EQ(channel->connections(), 1);
  const H2Request first = server->requests().at(0);
  EXPECT_EQ(first.path, kPath);
  EXPECT_EQ(first.body, std::string("\0\0\0\0\3one", 8));
  EXPECT_THAT(first.headers, Contains(Pair("te", "trailers")));
  EXPECT_THAT(first.headers, Contains(Pair("content-type", "application/grpc")));
  EXPECT_THAT(first.headers, Contains(Pair(":authority", server->endpoint())));
  EXPECT_THAT(first.headers, Contains(Pair(":scheme", "https")));
}

TEST_F(UnaryChannelTest, AnOldEntryInOpenSslsErrorQueueDoesNotFailTheCall) {
  auto server = Serve([](const H2Request&) { return Message("fine"); });
  auto channel = Channel(server->endpoint());
  // As a failed fopen of an optional file elsewhere in kbunlock leaves it.
  ERR_raise(ERR_LIB_SYS, ENOENT);
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)), IsOkAndHolds("fine"));
  ERR_raise(ERR_LIB_SYS, ENOENT);
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)), IsOkAndHolds("fine"));
}

TEST_F(UnaryChannelTest, ReassemblesAMessageSplitAcrossDataFrames) {
  const std::string big(100000, 'm');  // over the 64 KiB window and 16 KiB frames both ways
  auto server = Serve([&](const H2Request& r) {
    const bool small = r.body.size() < 10;
    H2Reply reply = Message((small ? "small " : big) + std::to_string(r.body.size()));
    reply.chunk = small ? 3 : 7000;  // 3: the 5-byte prefix split too
    return reply;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(10)), IsOkAndHolds("small 6"));
  EXPECT_THAT(channel->Call(kPath, big, absl::Seconds(10)), IsOkAndHolds(big + "100005"));
}

TEST_F(UnaryChannelTest, TrailersOnlyErrorsKeepCodeAndDecodedMessage) {
  auto server = Serve([](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kTrailersOnly;
    r.grpc_status = "5";
    r.grpc_message = "no key %27k%C3%A9%27 %zz";
    return r;
  });
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kNotFound, "no key 'k\\xc3\\xa9' %zz"));
}

TEST_F(UnaryChannelTest, AStatusInTrailersAfterNoMessage) {
  auto server = Serve([](const H2Request&) {
    H2Reply r;
    r.raw_data = "";
    r.message = "";
    r.grpc_status = "9";
    r.grpc_message = "challenge already used";
    return r;
  });
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "challenge already used"));
}

TEST_F(UnaryChannelTest, OnlyTheStatusThatEndsTheStreamCounts) {
  std::atomic<int> call = 0;
  auto server = Serve([&](const H2Request&) {
    H2Reply r = Message("payload");
    r.early_grpc_status = "0";  // in the headers before the message: not the call's status
    r.grpc_status = "7";
    r.grpc_message = "denied";
    r.reset_after_data = call == 1;
    r.no_trailers = call == 2;
    ++call;
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kPermissionDenied, "denied"));
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("INTERNAL_ERROR")));
  // The message and the end of the stream, but no status where one counts.
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("without a gRPC status")));
}

TEST_F(UnaryChannelTest, OkWithoutAMessageIsUnimplementedAsInGrpc) {
  auto server = Serve([](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kTrailersOnly;
    return r;
  });
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("No message")));
}

TEST_F(UnaryChannelTest, BrokenMessagesAreInternal) {
  int call = 0;
  auto server = Serve([&](const H2Request&) {
    H2Reply r;
    const std::array<std::string, 3> bodies = {std::string("\1\0\0\0\1x", 6),
                                               std::string("\0\0\0\0\5ab", 7),
                                               std::string("\0\0\0\0\1a\0\0\0\0\1b", 12)};
    r.raw_data = bodies[call++ % 3];
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("compressed")));
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("cut short")));
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("more than one message")));
}

TEST_F(UnaryChannelTest, AnAnswerWithoutGrpcStatusMapsItsHttpStatus) {
  std::atomic<int> http = 503;  // set here, read in the server's thread
  auto server = Serve([&](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kHttpOnly;
    r.http_status = http;
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP status 503")));
  http = 404;
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST_F(UnaryChannelTest, AProxysErrorPageMapsItsHttpStatusNotItsBody) {
  auto server = Serve([&](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kHttpOnly;
    r.http_status = 502;
    r.raw_data = "<html><body>502 Bad Gateway</body></html>";
    return r;
  });
  // UNAVAILABLE: the guest tries again or another broker (not INTERNAL from the page's '<'
  // taken as a compressed-message flag, which ends the unlock).
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP status 502")));
}

// A server that refuses a call at its headers, while the client still sends a body larger
// than the stream's window, then stops the stream with RST_STREAM(NO_ERROR): its status stands.
TEST_F(UnaryChannelTest, AnAnswerBeforeTheRequestEndedKeepsItsStatus) {
  auto server = Serve(
      [](const H2Request&) {
        H2Reply r;
        r.kind = H2Reply::Kind::kTrailersOnly;
        r.grpc_status = "8";  // RESOURCE_EXHAUSTED
        r.grpc_message = "too many";
        r.reset_no_error_after = true;
        return r;
      },
      FakeH2Server::Mode::kHttp2AnswerOnHeaders);
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, std::string(200000, 'x'), absl::Seconds(5)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("too many")));
}

TEST_F(UnaryChannelTest, ARefusedStreamIsRetriedOnceOnANewConnection) {
  int calls = 0;
  auto server = Serve([&](const H2Request&) {
    H2Reply r = Message("second time");
    if (calls++ == 0) {
      r.kind = H2Reply::Kind::kReset;
      r.reset_code = 0x7;  // REFUSED_STREAM
    }
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)), IsOkAndHolds("second time"));
  EXPECT_EQ(channel->connections(), 2);
}

TEST_F(UnaryChannelTest, ACallTheServerMayHaveProcessedIsNeverRetried) {
  // ReleaseKey spends a single-use challenge: a connection lost after the request was sent
  // is the caller's to judge, not retried underneath it.
  auto server = Serve([](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kHangUp;
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(channel->connections(), 1);
}

TEST_F(UnaryChannelTest, OversizedResponseHeadersAreRefused) {
  auto server = Serve([](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kTrailersOnly;
    r.grpc_status = "13";
    r.grpc_message = std::string(20000, 'h');
    return r;
  });
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("headers")));
}

TEST_F(UnaryChannelTest, OtherResetsAreNotRetried) {
  auto server = Serve([&](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kReset;
    r.reset_code = 0xb;  // ENHANCE_YOUR_CALM
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("ENHANCE_YOUR_CALM")));
  EXPECT_EQ(server->requests().size(), 1u);
}

TEST_F(UnaryChannelTest, AServerThatWentAwayIsDialledAgainForTheNextCall) {
  auto server = Serve([](const H2Request&) {
    H2Reply r = Message("ok");
    r.goaway_after = true;
    return r;
  });
  auto channel = Channel(server->endpoint());
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)), IsOkAndHolds("ok"));
  absl::SleepFor(absl::Milliseconds(100));  // the GOAWAY and the close arrive
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)), IsOkAndHolds("ok"));
  EXPECT_EQ(channel->connections(), 2);
}

TEST_F(UnaryChannelTest, ASilentServerRunsIntoTheDeadline) {
  auto server = Serve([](const H2Request&) {
    H2Reply r;
    r.kind = H2Reply::Kind::kSilence;
    return r;
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Milliseconds(700)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_EQ(server->requests().size(), 1u);
  // What is left of the 700 ms once connected, in milliseconds.
  EXPECT_THAT(server->requests()[0].headers,
              Contains(Pair("grpc-timeout", ::testing::MatchesRegex("[1-7][0-9]?[0-9]?m"))));
}

// A TCP socket listening on 127.0.0.1 at a free port (`port`); -1 if it cannot.
int ListenOnLoopback(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 4) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return fd;
}

TEST_F(UnaryChannelTest, AListenerThatNeverSpeaksTlsIsNoConnection) {
  int port = 0;
  const int fd = ListenOnLoopback(port);  // the kernel completes TCP's handshake; nobody accepts
  ASSERT_GE(fd, 0);
  auto channel = Channel(absl::StrCat("127.0.0.1:", port));
  EXPECT_THAT(channel->Call(kPath, "x", absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kUnavailable, "no connection within 500ms"));
  close(fd);
  // Now nothing listens there: refused at once.
  EXPECT_THAT(channel->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused")));
}

// A peer that answers the ClientHello with plaintext handshake records of one HelloRequest
// each, which OpenSSL skips before the ServerHello, as fast as the socket takes them: the
// client's socket is never empty. Up to 10 s, then it closes.
TEST_F(UnaryChannelTest, AHandshakeFloodedWithSkippedRecordsEndsAtTheDeadline) {
  int port = 0;
  const int fd = ListenOnLoopback(port);
  ASSERT_GE(fd, 0);
  std::thread flooder([fd] {
    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    char hello[4096];
    (void)!recv(c, hello, sizeof(hello), 0);
    // Records of one HelloRequest each (type 0, length 0): the most work per byte.
    const std::string record("\x16\x03\x03\x00\x04\x00\x00\x00\x00", 9);
    std::string burst;
    for (int i = 0; i < 100000; ++i) burst += record;
    const absl::Time end = absl::Now() + absl::Seconds(10);
    while (absl::Now() < end && send(c, burst.data(), burst.size(), MSG_NOSIGNAL) > 0) {
    }
    close(c);
  });
  auto channel = Channel(absl::StrCat("127.0.0.1:", port));
  // Without a deadline check in the handshake's loop this ends only when the peer closes,
  // with "the server closed the connection".
  EXPECT_THAT(channel->Call(kPath, "x", absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kUnavailable, "no connection within 500ms"));
  channel.reset();  // closes the connection: the flooder's next send fails
  flooder.join();
  close(fd);
}

TEST_F(UnaryChannelTest, AServerWithoutHttp2IsRefused) {
  auto server = Serve(nullptr, FakeH2Server::Mode::kNoAlpn);
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ALPN h2")));
}

TEST_F(UnaryChannelTest, AConnectionClosedBeforeTheAnswerIsUnavailable) {
  auto server = Serve(nullptr, FakeH2Server::Mode::kCloseAfterHandshake);
  EXPECT_THAT(Channel(server->endpoint())->Call(kPath, "x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(UnaryChannelTest, ACertificateFromAnotherCaIsRefusedWithItsChain) {
  auto server = Serve([](const H2Request&) { return Message("never"); });
  absl::StatusOr<std::string> r =
      Channel(server->endpoint(), "other-ca.pem")->Call(kPath, "x", absl::Seconds(5));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(CertificateVerifyError(r.status()),
              ::testing::Optional(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
  auto chain = r.status().GetPayload(kPeerChainPayload);
  ASSERT_TRUE(chain.has_value());
  EXPECT_THAT(std::string(*chain), HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_TRUE(server->requests().empty());
}

TEST_F(UnaryChannelTest, AnAddressTheCertificateDoesNotListIsRefused) {
  // make_pki.sh's server certificate lists localhost, 127.0.0.1 and 10.0.2.100, not 127.0.0.2.
  auto server = FakeH2Server::Start(
      Pki("server.pem"), Pki("server.key"), FakeH2Server::Mode::kHttp2,
      [](const H2Request&) { return Message("never"); }, "127.0.0.2");
  ASSERT_THAT(server, IsOk());
  absl::StatusOr<std::string> r =
      Channel((*server)->endpoint())->Call(kPath, "x", absl::Seconds(5));
  EXPECT_THAT(CertificateVerifyError(r.status()),
              ::testing::Optional(X509_V_ERR_IP_ADDRESS_MISMATCH));
  EXPECT_TRUE((*server)->requests().empty());
}

TEST_F(UnaryChannelTest, ANameIsCheckedAsADnsNameAndEachAddressTried) {
  // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
  auto server = Serve([](const H2Request&) { return Message("by name"); });
  const std::string endpoint = absl::StrCat("localhost:", server->port());
  EXPECT_THAT(Channel(endpoint)->Call(kPath, "x", absl::Seconds(5)), IsOkAndHolds("by name"));
  EXPECT_THAT(server->requests().at(0).headers, Contains(Pair(":authority", endpoint)));
}

TEST_F(UnaryChannelTest, BadEndpointsAndCaBundlesAreRefusedUpFront) {
  EXPECT_THAT(UnaryChannel::Create("no-port", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no port")));
  EXPECT_THAT(UnaryChannel::Create("host:99999", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnaryChannel::Create("127.0.0.1:1", "not a certificate"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CA bundle")));
}

TEST_F(UnaryChannelTest, WritingToAPeerThatResetDoesNotRaiseSigpipe) {
  auto server = Serve(nullptr, FakeH2Server::Mode::kResetAfterHandshake);
  auto pem = ReadFile(Pki("ca.pem"));
  ASSERT_THAT(pem, IsOk());
  auto ctx = NewClientContext(*pem);
  ASSERT_THAT(ctx, IsOk());
  auto tls = TlsConnection::Connect(ctx->get(), server->endpoint(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(tls, IsOk());
  absl::SleepFor(absl::Milliseconds(100));  // the reset has arrived
  struct sigaction previous;
  struct sigaction deflt = {};
  deflt.sa_handler = SIG_DFL;  // as in cryptsetup, which loads the token plugin
  sigaction(SIGPIPE, &deflt, &previous);
  const std::string block(64 * 1024, 'b');
  absl::Status first = (*tls)->Write(block, absl::Now() + absl::Seconds(2));
  absl::Status second = (*tls)->Write(block, absl::Now() + absl::Seconds(2));
  sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_THAT(first.ok() ? second : first, StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace kb::unary_grpc
