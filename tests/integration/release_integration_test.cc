// The real thing end to end on one host: keybrokerd over TLS on 127.0.0.1, swtpm as the
// guest's TPM, kbunlock as a subprocess, LUKS2 image files.
#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/binding.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/shared_broker.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/integration/tpm_test_util.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"
#include "unlocker/esys/esys_tpm.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kZeroPcr(64, '0');

class ReleaseIntegrationTest : public SharedBrokerTest {
 protected:
  void SetUp() override {
    ASSERT_NE(broker_, nullptr);
    auto swtpm = SwtpmFixture::Start();
    ASSERT_THAT(swtpm, IsOk());
    swtpm_ = std::move(*swtpm);
    key_id_ =
        absl::StrCat("disk-", ::testing::UnitTest::GetInstance()->random_seed(), "-", ++counter_);
    machine_ = absl::StrCat("vm-", key_id_);
    image_ = absl::StrCat(swtpm_->state_dir(), "/disk.img");
    pass_ = absl::StrCat(swtpm_->state_dir(), "/pass");
    absl::Status luks = MakeLuks2Image(image_, pass_, "32M");
    ASSERT_THAT(luks, IsOk());
    RegisterAk(swtpm_->tcti(), machine_);
    Admin([&](auto& stub, auto& ctx) {
      v1::CreateKeyRequest r;
      r.set_key_id(key_id_);
      v1::KeyMetadata m;
      return stub.CreateKey(&ctx, r, &m);
    });
    SetPolicy({machine_});
  }

  template <typename Fn>
  void Admin(Fn fn) {
    auto stub = broker_->AdminStub();
    grpc::ClientContext ctx;
    grpc::Status s = fn(*stub, ctx);
    ASSERT_THAT(s, IsOk()) << s.error_message();
  }

  void RegisterAk(const std::string& tcti, const std::string& machine) {
    const std::string ak = absl::StrCat(swtpm_->state_dir(), "/ak-", machine, ".pub");
    CommandResult r = Kbunlock({"attestation-key", "--out", ak, "--tcti", tcti});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    Admin([&](auto& stub, auto& ctx) {
      v1::RegisterAttestationKeyRequest req;
      req.set_machine(machine);
      req.set_ak_public(*ReadFile(ak));
      v1::AttestationKeyInfo info;
      return stub.RegisterAttestationKey(&ctx, req, &info);
    });
  }

  void SetPolicy(const std::vector<std::string>& machines) {
    std::string list;
    for (const auto& m : machines) list += absl::StrCat(list.empty() ? "" : ",", "\"", m, "\"");
    Admin([&](auto& stub, auto& ctx) {
      v1::SetPolicyRequest r;
      r.set_key_id(key_id_);
      r.set_policy_json(absl::StrCat(R"({"allow":[{"name":"boot-chain","machines":[)", list,
                                     R"(],"pcrs":[{"index":7,"allowed":[")", kZeroPcr,
                                     R"("]}]}]})"));
      v1::SetPolicyResponse resp;
      return stub.SetPolicy(&ctx, r, &resp);
    });
  }

  CommandResult Kbunlock(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("kbunlock"));
    return RunCommand(args);
  }

  CommandResult Enroll(const std::string& tcti) {
    return Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--ca",
                     broker_->Path("ca.pem"), "--key-id", key_id_, "--passphrase-file", pass_,
                     "--tcti", tcti});
  }

  CommandResult UnlockTest(const std::string& tcti, const std::string& ca = "ca.pem") {
    return Kbunlock({"unlock", "--device", image_, "--test", "--ca", broker_->Path(ca), "--tcti",
                     tcti, "--timeout", "3"});
  }

  std::string LuksDump() { return RunCommand({"/sbin/cryptsetup", "luksDump", image_}).output; }

  static int counter_;
  std::unique_ptr<SwtpmFixture> swtpm_;
  std::string key_id_, machine_, image_, pass_;
};

int ReleaseIntegrationTest::counter_ = 0;

TEST_F(ReleaseIntegrationTest, EnrollThenUnlock) {
  CommandResult enroll = Enroll(swtpm_->tcti());
  ASSERT_EQ(enroll.exit_code, 0) << enroll.output;
  EXPECT_THAT(enroll.output, HasSubstr("enrolled"));
  EXPECT_THAT(LuksDump(), HasSubstr("keybroker"));
  CommandResult status = Kbunlock({"status", "--device", image_});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.output, HasSubstr(absl::StrCat("key '", key_id_, "' version 1")));
  CommandResult unlock = UnlockTest(swtpm_->tcti());
  EXPECT_EQ(unlock.exit_code, 0) << unlock.output;
  EXPECT_THAT(unlock.output, HasSubstr("opens keyslot"));
}

TEST_F(ReleaseIntegrationTest, StatusJsonDescribesTheToken) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  CommandResult status = Kbunlock({"status", "--device", image_, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(status.output, &json).ok())
      << status.output;
  EXPECT_EQ(json.fields().at("device").string_value(), image_);
  EXPECT_EQ(json.fields().at("keyslots").list_value().values_size(), 2);  // passphrase + key
  const auto& tokens = json.fields().at("tokens").list_value();
  ASSERT_EQ(tokens.values_size(), 1);
  const auto& t = tokens.values(0).struct_value().fields();
  EXPECT_EQ(t.at("key_id").string_value(), key_id_);
  EXPECT_EQ(t.at("key_version").number_value(), 1);
  EXPECT_EQ(t.at("evidence").string_value(), "tpm");
  EXPECT_EQ(t.at("pcrs").list_value().values_size(), 2);
  EXPECT_FALSE(t.at("offline_copy").bool_value());
  EXPECT_EQ(t.at("ca_sha256").string_value().size(), 64u);
}

TEST_F(ReleaseIntegrationTest, UnlockByCrypttabName) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  const std::string crypttab = swtpm_->state_dir() + "/crypttab";
  ASSERT_THAT(WriteFileAtomic(crypttab, "# test\ndatadisk " + image_ + " none luks\n"), IsOk());
  CommandResult r = Kbunlock({"unlock", "--crypttab", "datadisk", "--crypttab-file", crypttab,
                              "--test", "--ca", broker_->Path("ca.pem"), "--tcti", swtpm_->tcti()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("opens keyslot"));
  CommandResult missing = Kbunlock({"unlock", "--crypttab", "nope", "--crypttab-file", crypttab,
                                    "--test", "--tcti", swtpm_->tcti()});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("no crypttab entry named 'nope'"));
}

TEST_F(ReleaseIntegrationTest, SecondMachineWithOtherPcrsIsDenied) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  auto other = SwtpmFixture::Start();
  ASSERT_THAT(other, IsOk());
  RegisterAk((*other)->tcti(), machine_ + "-b");
  SetPolicy({machine_, machine_ + "-b"});
  ExtendPcr((*other)->tcti(), 7);
  CommandResult r = UnlockTest((*other)->tcti());
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_THAT(r.output, HasSubstr("kbunlock: denied by broker: "));
  EXPECT_THAT(r.output, HasSubstr("pcr sha256:7"));
  // The first machine still unlocks.
  EXPECT_EQ(UnlockTest(swtpm_->tcti()).exit_code, 0);
}

TEST_F(ReleaseIntegrationTest, UnregisteredMachineIsDenied) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  auto stranger = SwtpmFixture::Start();
  ASSERT_THAT(stranger, IsOk());
  CommandResult r = UnlockTest((*stranger)->tcti());
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ak_trusted"));
}

TEST_F(ReleaseIntegrationTest, DisabledKeyIsDenied) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  Admin([&](auto& stub, auto& ctx) {
    v1::DisableKeyRequest r;
    r.set_key_id(key_id_);
    v1::KeyMetadata m;
    return stub.DisableKey(&ctx, r, &m);
  });
  CommandResult r = UnlockTest(swtpm_->tcti());
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_THAT(r.output, HasSubstr("disabled"));
}

TEST_F(ReleaseIntegrationTest, FailedEnrolLeavesTheHeaderUnchanged) {
  const std::string before = LuksDump();
  ASSERT_THAT(WriteFileAtomic(pass_, "wrong passphrase"), IsOk());
  CommandResult wrong = Enroll(swtpm_->tcti());
  EXPECT_EQ(wrong.exit_code, 8) << wrong.output;
  EXPECT_EQ(LuksDump(), before);

  ASSERT_THAT(WriteFileAtomic(pass_, "correct horse battery staple"), IsOk());
  SetPolicy({"some-other-machine"});
  CommandResult denied = Enroll(swtpm_->tcti());
  EXPECT_EQ(denied.exit_code, 4) << denied.output;
  EXPECT_EQ(LuksDump(), before);
}

TEST_F(ReleaseIntegrationTest, WrongBrokerCaFailsClosed) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  CommandResult r = UnlockTest(swtpm_->tcti(), "other-ca.pem");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not the CA this volume was enrolled with"));
}

TEST_F(ReleaseIntegrationTest, VolumeAndTpmErrorsHaveDistinctExitCodes) {
  CommandResult no_token = UnlockTest(swtpm_->tcti());
  EXPECT_EQ(no_token.exit_code, 6) << no_token.output;

  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  swtpm_->Stop();
  CommandResult no_tpm = UnlockTest(swtpm_->tcti());
  EXPECT_EQ(no_tpm.exit_code, 5) << no_tpm.output;

  const std::string zeros = absl::StrCat(swtpm_->state_dir(), "/zeros.img");
  ASSERT_EQ(RunCommand({"/usr/bin/truncate", "-s", "8M", zeros}).exit_code, 0);
  CommandResult not_luks = Kbunlock({"status", "--device", zeros});
  EXPECT_EQ(not_luks.exit_code, 7) << not_luks.output;
  CommandResult missing = Kbunlock({"status", "--device", "/nonexistent.img"});
  EXPECT_EQ(missing.exit_code, 7) << missing.output;
  CommandResult usage = Kbunlock({"unlock", "--bogus"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

TEST_F(ReleaseIntegrationTest, BrokerDownIsUnreachable) {
  ASSERT_EQ(Enroll(swtpm_->tcti()).exit_code, 0);
  broker_->Stop();
  CommandResult r = UnlockTest(swtpm_->tcti());
  ASSERT_THAT(broker_->Resume(), IsOk());
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unreachable"));
  EXPECT_EQ(UnlockTest(swtpm_->tcti()).exit_code, 0);
}

// A broker address where something that is not TLS answers (as QEMU's guestfwd does when the
// broker behind it is down): kbunlock unlocks through the other broker of the token and no raw
// gRPC log line ("E1203 ... ssl_transport_security.cc ... Handshake failed") reaches its output.
TEST_F(ReleaseIntegrationTest, ANonTlsEndpointAddsNoRawGrpcLines) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::atomic<bool> done{false};
  std::thread answerer([&] {
    while (!done) {
      pollfd p{listener, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept(listener, nullptr, nullptr);
      if (c < 0) continue;
      constexpr char kNotTls[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
      (void)!write(c, kNotTls, sizeof(kNotTls) - 1);
      close(c);
    }
  });
  const std::string not_tls = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  CommandResult enrolled = Kbunlock(
      {"enroll", "--device", image_, "--broker", broker_->release_endpoint(), "--token-broker",
       absl::StrCat(not_tls, ",", broker_->release_endpoint()), "--ca", broker_->Path("ca.pem"),
       "--key-id", key_id_, "--passphrase-file", pass_, "--tcti", swtpm_->tcti()});
  CommandResult r = UnlockTest(swtpm_->tcti());
  done = true;
  answerer.join();
  close(listener);
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("ssl_transport_security")));
  EXPECT_THAT(r.output, Not(HasSubstr("Handshake failed")));
}

TEST_F(ReleaseIntegrationTest, AdminRequiresAnOperatorCertificate) {
  v1::ListKeysRequest req;
  v1::ListKeysResponse resp;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status s = broker_->AdminStub("rogue")->ListKeys(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  }
  {
    // The server certificate is not an operator certificate either.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status s = broker_->AdminStub("server")->ListKeys(&ctx, req, &resp);
    EXPECT_FALSE(s.ok());
  }
  grpc::ClientContext ctx;
  ASSERT_THAT(broker_->AdminStub()->ListKeys(&ctx, req, &resp), IsOk());
  // The guest-facing listener does not serve the admin API.
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *ReadFile(broker_->Path("ca.pem"));
  auto on_release_port = v1::KeyAdmin::NewStub(
      grpc::CreateChannel(broker_->release_endpoint(), grpc::SslCredentials(options)));
  grpc::ClientContext ctx2;
  EXPECT_EQ(on_release_port->ListKeys(&ctx2, req, &resp).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace kb
