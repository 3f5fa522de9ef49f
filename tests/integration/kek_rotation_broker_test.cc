// `keybrokerctl kek rotate` against a real keybrokerd: from a kek_file to a key in a SoftHSM2
// token, keybrokerd killed with SIGKILL at random points of the rotation (every key version
// still opens after each kill, checked on the database itself), then the rest of the rotation
// while a guest keeps releasing (no failed release), and the old KEK dropped from the config.
#include <grpcpp/client_context.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/kek/kek_file.h"
#include "keybroker/kek/pkcs11_kek.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/integration/release_over_grpc.h"
#include "tests/support/broker_process.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr int kKeys = 60;

class KekRotationBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = SoftHsmToken::Create("kb-rotate");
    ASSERT_THAT(token, IsOk());
    token_ = std::move(*token);
    ASSERT_THAT(Pkcs11Kek::Generate(Where(), SecretBytes::FromString(SoftHsmToken::kPin)), IsOk());
    auto broker = BrokerProcess::Start();
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
  }
  Pkcs11KekLocation Where() const { return {SoftHsmToken::kModule, "kb-rotate", "hsm-kek"}; }

  CommandResult Ctl(std::vector<std::string> args) const {
    std::vector<std::string> argv = KeybrokerctlArgv(*broker_, "operator");
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  // Every key version in the (stopped) broker's database, opened with the KEKs of a rotation.
  std::map<std::string, std::string> ReadAllKeys(bool with_hsm) {
    KekSet keks;
    auto file = LoadKekFile(broker_->Path("kek"));
    EXPECT_THAT(file, IsOk());
    if (with_hsm) {
      auto hsm = Pkcs11Kek::Open(Where(), SecretBytes::FromString(SoftHsmToken::kPin));
      EXPECT_THAT(hsm, IsOk());
      keks.current = std::move(*hsm);
      keks.previous.push_back(std::move(*file));
    } else {
      keks.current = std::move(*file);
    }
    auto db = OpenBrokerDatabase(broker_->Path("broker.db"));
    EXPECT_THAT(db, IsOk());
    auto store = SqliteKeyStore::Create(*db, std::move(keks));
    EXPECT_THAT(store, IsOk());
    std::map<std::string, std::string> out;
    if (!store.ok()) return out;
    for (int i = 0; i < kKeys; ++i) {
      const std::string id = absl::StrCat("disk-", i);
      auto material = (*store)->GetKeyMaterial(id, 1);
      EXPECT_THAT(material, IsOk()) << id;
      if (material.ok()) out[id] = std::string(material->view());
    }
    return out;
  }

  // Key versions still sealed under the first KEK (the file), read from the database.
  int UnderFirstKek() {
    auto db = SqliteDb::OpenReadOnly(broker_->Path("broker.db"));
    if (!db.ok()) return -1;
    auto lock = (*db)->Lock();
    auto st = (*db)->Prepare("SELECT COUNT(*) FROM key_versions WHERE kek_id = 1");
    if (!st.ok() || !st->Step().value_or(false)) return -1;
    return static_cast<int>(st->Int(0));
  }

  std::unique_ptr<SoftHsmToken> token_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(KekRotationBrokerTest, FromAFileToAnHsmThroughKillsWhileGuestsRelease) {
  auto stub = broker_->AdminStub();
  for (int i = 0; i < kKeys; ++i) {
    grpc::ClientContext ctx;
    v1::CreateKeyRequest r;
    r.set_key_id(absl::StrCat("disk-", i));
    v1::KeyMetadata m;
    ASSERT_THAT(stub->CreateKey(&ctx, r, &m), IsOk());
  }
  // A guest allowed disk-0, releasing throughout.
  auto tpm = *SoftwareTpm::Create();
  tpm->SetPcr(7, std::string(32, '\x07'));
  ASSERT_THAT(WriteFileAtomic(broker_->Path("g.ak"), *tpm->AttestationKeyPublic()), IsOk());
  ASSERT_EQ(
      Ctl({"ak", "register", "--machine", "g", "--ak-public", broker_->Path("g.ak")}).exit_code, 0);
  const std::string policy = absl::StrCat(R"({"allow":[{"name":"r","machines":["g"],)",
                                          R"("pcrs":[{"index":7,"allowed":[")",
                                          HexEncode(std::string(32, '\x07')), R"("]}]}]})");
  ASSERT_EQ(RunCommand(
                [&] {
                  auto argv = KeybrokerctlArgv(*broker_, "operator");
                  argv.insert(argv.end(), {"policy", "set", "disk-0", "-"});
                  return argv;
                }(),
                policy)
                .exit_code,
            0);
  broker_->Stop();
  const std::map<std::string, std::string> before = ReadAllKeys(/*with_hsm=*/false);
  ASSERT_EQ(before.size(), static_cast<size_t>(kKeys));

  // The HSM key becomes the KEK; the file stays as the previous one.
  ASSERT_THAT(broker_->SetKekConfig(absl::StrCat(token_->KekConfigJson("hsm-kek"),
                                                 R"(,"previous_keks":[{"file":"kek"}])")),
              IsOk());
  ASSERT_THAT(broker_->Resume(), IsOk());
  const unsigned seed = std::random_device()();
  std::mt19937 rng(seed);
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  // Kills at spread points of the rotation: when the count of key versions left under the
  // file drops to each target (read from the database while keybrokerd writes it).
  int target = kKeys;
  for (int kill = 0; kill < 4; ++kill) {
    target -= 3 + static_cast<int>(rng() % 10);
    std::thread rotate([&] { Ctl({"kek", "rotate", "--batch", "1"}); });
    for (int i = 0; i < 5000 && UnderFirstKek() > target; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    broker_->Kill();
    rotate.join();
    const int left = UnderFirstKek();
    std::printf("kill %d: %d key version(s) left under the kek_file (target %d)\n", kill, left,
                target);
    EXPECT_LT(left, kKeys);
    EXPECT_EQ(ReadAllKeys(/*with_hsm=*/true), before) << "after kill " << kill;
    ASSERT_THAT(broker_->Resume(), IsOk()) << "after kill " << kill;
  }

  std::atomic<bool> done{false};
  std::atomic<int> released{0}, failed{0};
  std::thread guest([&] {
    while (!done) {
      (ReleaseOverGrpc(*broker_, *tpm, "disk-0").ok() ? released : failed)++;
    }
  });
  CommandResult rotate = Ctl({"kek", "rotate", "--batch", "7"});
  done = true;
  guest.join();
  EXPECT_EQ(rotate.exit_code, 0) << rotate.output;
  EXPECT_THAT(rotate.output, HasSubstr(", 0 remaining"));
  EXPECT_THAT(rotate.output,
              HasSubstr(absl::StrCat("no key version needs kek_file ", broker_->Path("kek"))));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(released.load(), 0);
  CommandResult status = Ctl({"kek", "status"});
  EXPECT_THAT(status.output, HasSubstr("current"));
  EXPECT_THAT(status.output, HasSubstr("pkcs11 token 'kb-rotate' key 'hsm-kek'"));

  // The file KEK dropped: the broker starts on the HSM alone and still releases.
  broker_->Stop();
  ASSERT_THAT(broker_->SetKekConfig(token_->KekConfigJson("hsm-kek")), IsOk());
  ASSERT_THAT(broker_->Resume(), IsOk());
  EXPECT_THAT(ReleaseOverGrpc(*broker_, *tpm, "disk-0"), IsOk());
  CommandResult audit = Ctl({"audit", "list", "--limit", "1000"});
  EXPECT_THAT(audit.output, HasSubstr("rotate_kek"));
}

}  // namespace
}  // namespace kb
