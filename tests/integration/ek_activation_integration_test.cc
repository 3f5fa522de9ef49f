// AK trust through the TPM's EK certificate, end to end: swtpm manufactured with an EK
// certificate from a local CA (swtpm_setup --create-ek-cert + swtpm_localca), keybrokerd
// configured with that CA, kbunlock enrolling with --ak-trust ek and no operator registration.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/integration/plugin_cryptsetup.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"
#include "unlocker/client/ak_activation_client.h"
#include "unlocker/esys/esys_tpm.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const std::string kZeroPcr(64, '0');

// "ek:" + hex of the first 8 bytes of SHA-256(SubjectPublicKeyInfo) of the EK certificate.
std::string MachineOf(const std::string& ek_der) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(ek_der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(ek_der.size())));
  if (!cert) return "";
  uint8_t* spki = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &spki);
  std::string digest = Sha256(absl::string_view(reinterpret_cast<char*>(spki), len));
  OPENSSL_free(spki);
  return absl::StrCat("ek:", HexEncode(digest.substr(0, 8)));
}

std::unique_ptr<EsysTpm> OpenTpm(const SwtpmFixture& swtpm) {
  EsysTpmOptions opts;
  opts.tcti = swtpm.tcti();
  auto tpm = EsysTpm::Create(opts);
  EXPECT_THAT(tpm, IsOk());
  return tpm.ok() ? std::move(*tpm) : nullptr;
}

// Makes the broker forget every registered AK (as a database restored from before the
// activation would), with keybrokerd stopped.
void ForgetAks(BrokerProcess& broker) {
  broker.Stop();
  {
    auto db = OpenBrokerDatabase(broker.Path("broker.db"));
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("DELETE FROM attestation_keys"), IsOk());
  }
  ASSERT_THAT(broker.Resume(), IsOk());
}

class EkActivationIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_dir_ = new std::string(std::filesystem::temp_directory_path() /
                              ("kb-ekca-" + HexEncode(*RandomBytes(6))));
    std::filesystem::create_directories(*ca_dir_);
    // The first manufactured TPM creates the local CA; the broker trusts it from then on.
    auto first = SwtpmFixture::Start({.create_ek_cert = true, .ek_ca_dir = *ca_dir_});
    ASSERT_THAT(first, IsOk());
    BrokerProcess::Options options;
    options.ek_ca_files = {SwtpmFixture::EkRootCaFile(*ca_dir_),
                           SwtpmFixture::EkIssuerCaFile(*ca_dir_)};
    auto broker = BrokerProcess::Start(options);
    ASSERT_THAT(broker, IsOk());
    broker_ = broker->release();
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
    if (ca_dir_ != nullptr) std::filesystem::remove_all(*ca_dir_);
    delete ca_dir_;
    ca_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(broker_, nullptr);
    swtpm_ = Manufactured();
    ASSERT_NE(swtpm_, nullptr);
    key_id_ = absl::StrCat("ek-disk-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                           ++counter_);
    image_ = absl::StrCat(swtpm_->state_dir(), "/disk.img");
    pass_ = absl::StrCat(swtpm_->state_dir(), "/pass");
    absl::Status luks = MakeLuks2Image(image_, pass_, "32M");
    ASSERT_THAT(luks, IsOk());
    std::unique_ptr<EsysTpm> tpm = OpenTpm(*swtpm_);
    ASSERT_NE(tpm, nullptr);
    auto cert = tpm->ReadEkCertificate();
    ASSERT_THAT(cert, IsOk());
    machine_ = MachineOf(cert->der);
    ASSERT_THAT(machine_, ::testing::MatchesRegex("ek:[0-9a-f]{16}"));
    tpm.reset();  // swtpm serves one connection at a time
    CreateKeyWithPolicy(*broker_, machine_);
  }

  static std::unique_ptr<SwtpmFixture> Manufactured() {
    auto swtpm = SwtpmFixture::Start({.create_ek_cert = true, .ek_ca_dir = *ca_dir_});
    EXPECT_THAT(swtpm, IsOk());
    return swtpm.ok() ? std::move(*swtpm) : nullptr;
  }

  void CreateKeyWithPolicy(BrokerProcess& broker, const std::string& machine) {
    auto stub = broker.AdminStub();
    {
      grpc::ClientContext ctx;
      v1::CreateKeyRequest r;
      r.set_key_id(key_id_);
      v1::KeyMetadata m;
      ASSERT_THAT(stub->CreateKey(&ctx, r, &m), IsOk());
    }
    grpc::ClientContext ctx;
    v1::SetPolicyRequest r;
    r.set_key_id(key_id_);
    r.set_policy_json(absl::StrCat(R"({"allow":[{"name":"ek-proven","machines":[")", machine,
                                   R"("],"pcrs":[{"index":7,"allowed":[")", kZeroPcr,
                                   R"("]}]}]})"));
    v1::SetPolicyResponse resp;
    grpc::Status s = stub->SetPolicy(&ctx, r, &resp);
    ASSERT_THAT(s, IsOk()) << s.error_message();
  }

  CommandResult Kbunlock(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("kbunlock"));
    return RunCommand(args);
  }

  CommandResult EnrollEk(BrokerProcess& broker) {
    return Kbunlock({"enroll", "--device", image_, "--broker", broker.release_endpoint(), "--ca",
                     broker.Path("ca.pem"), "--key-id", key_id_, "--passphrase-file", pass_,
                     "--tcti", swtpm_->tcti(), "--ak-trust", "ek", "--timeout", "5"});
  }

  CommandResult UnlockTest() {
    return Kbunlock({"unlock", "--device", image_, "--test", "--ca", broker_->Path("ca.pem"),
                     "--tcti", swtpm_->tcti(), "--timeout", "5"});
  }

  std::unique_ptr<AkActivationClient> Client() {
    auto client = ConnectAkActivation(broker_->release_endpoint(),
                                      *ReadFile(broker_->Path("ca.pem")), absl::Seconds(5));
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::move(*client) : nullptr;
  }

  static std::string* ca_dir_;
  static BrokerProcess* broker_;
  static int counter_;
  std::unique_ptr<SwtpmFixture> swtpm_;
  std::string key_id_, machine_, image_, pass_;
};

std::string* EkActivationIntegrationTest::ca_dir_ = nullptr;
BrokerProcess* EkActivationIntegrationTest::broker_ = nullptr;
int EkActivationIntegrationTest::counter_ = 0;

TEST_F(EkActivationIntegrationTest, EnrollWithoutRegistrationThenUnlock) {
  CommandResult enroll = EnrollEk(*broker_);
  ASSERT_EQ(enroll.exit_code, 0) << enroll.output;
  EXPECT_THAT(enroll.output, HasSubstr("trusts the attestation key as machine " + machine_));
  CommandResult token =
      RunCommand({"/sbin/cryptsetup", "token", "export", "--token-id", "0", image_});
  EXPECT_THAT(token.output, HasSubstr(R"("ak_trust":"ek")"));
  CommandResult unlock = UnlockTest();
  EXPECT_EQ(unlock.exit_code, 0) << unlock.output;
  EXPECT_THAT(unlock.output, HasSubstr("opens keyslot"));
  EXPECT_THAT(unlock.output, ::testing::Not(HasSubstr("through the EK again")));
  // The broker registered the AK under the EK's machine name, and audited it.
  grpc::ClientContext ctx;
  v1::ListAttestationKeysRequest list;
  v1::ListAttestationKeysResponse aks;
  ASSERT_THAT(broker_->AdminStub()->ListAttestationKeys(&ctx, list, &aks), IsOk());
  bool found = false;
  for (const auto& ak : aks.keys()) found |= ak.machine() == machine_;
  EXPECT_TRUE(found);
}

TEST_F(EkActivationIntegrationTest, UnlockProvesANewAkAgainAndRetries) {
  ASSERT_EQ(EnrollEk(*broker_).exit_code, 0);
  ForgetAks(*broker_);
  CommandResult unlock = UnlockTest();
  EXPECT_EQ(unlock.exit_code, 0) << unlock.output;
  EXPECT_THAT(unlock.output, HasSubstr("proving it through the EK again"));
  EXPECT_THAT(unlock.output, HasSubstr("opens keyslot"));
}

// The token plugin (what cryptsetup and systemd-cryptsetup load) proves the AK again as well.
TEST_F(EkActivationIntegrationTest, ThePluginProvesANewAkAgainAndOpens) {
  if (std::string why; !PluginCryptsetup::PluginLoads(&why)) GTEST_SKIP() << why;
  ASSERT_EQ(EnrollEk(*broker_).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(ForgetAks(*broker_));
  auto plugin = PluginCryptsetup::Create(swtpm_->state_dir());
  ASSERT_THAT(plugin, IsOk());
  (*plugin)->WriteSettings(broker_->Path("ca.pem"), swtpm_->tcti(), 20);
  CommandResult open = (*plugin)->OpenWithToken(image_);
  EXPECT_EQ(open.exit_code, 0) << open.output;
  EXPECT_THAT(open.output, HasSubstr("proving it through the EK again"));
  EXPECT_THAT(open.output, HasSubstr("trusts the attestation key as machine " + machine_));
  EXPECT_THAT(open.output, HasSubstr("unlocked."));
}

TEST_F(EkActivationIntegrationTest, BrokerWithAnotherCaOrNoneRefuses) {
  BrokerProcess::Options other_ca;
  other_ca.ek_ca_files = {SourcePath("tests/data/flows/ca.pem")};
  auto other = BrokerProcess::Start(other_ca);
  ASSERT_THAT(other, IsOk());
  CreateKeyWithPolicy(**other, machine_);
  const std::string before = RunCommand({"/sbin/cryptsetup", "luksDump", image_}).output;
  CommandResult refused = EnrollEk(**other);
  EXPECT_EQ(refused.exit_code, 4) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("'ek_certificate_chain'"));
  EXPECT_EQ(RunCommand({"/sbin/cryptsetup", "luksDump", image_}).output, before);

  auto none = BrokerProcess::Start();
  ASSERT_THAT(none, IsOk());
  CreateKeyWithPolicy(**none, machine_);
  CommandResult off = EnrollEk(**none);
  EXPECT_EQ(off.exit_code, 4) << off.output;
  EXPECT_THAT(off.output, HasSubstr("ek_ca_files"));
}

TEST_F(EkActivationIntegrationTest, TamperedSecretAndReplayedIdAreRejected) {
  std::unique_ptr<EsysTpm> tpm = OpenTpm(*swtpm_);
  ASSERT_NE(tpm, nullptr);
  auto cert = tpm->ReadEkCertificate();
  ASSERT_THAT(cert, IsOk());
  v1::StartActivationRequest start;
  start.set_ek_certificate(cert->der);
  start.set_ak_public(*tpm->AttestationKeyPublic());
  auto client = Client();
  auto first = client->StartActivation(start);
  ASSERT_THAT(first, IsOk());
  auto secret =
      tpm->ActivateCredential(cert->type, first->credential_blob(), first->encrypted_secret());
  ASSERT_THAT(secret, IsOk());
  v1::FinishActivationRequest finish;
  finish.set_activation_id(first->activation_id());
  finish.set_secret(std::string(secret->view()));
  finish.mutable_secret()->back() ^= 0x01;
  auto tampered = client->FinishActivation(finish);
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(tampered.status().message(), HasSubstr("'credential_secret'"));

  auto second = client->StartActivation(start);
  ASSERT_THAT(second, IsOk());
  secret =
      tpm->ActivateCredential(cert->type, second->credential_blob(), second->encrypted_secret());
  ASSERT_THAT(secret, IsOk());
  finish.set_activation_id(second->activation_id());
  finish.set_secret(std::string(secret->view()));
  auto done = client->FinishActivation(finish);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->machine(), machine_);
  auto replay = client->FinishActivation(finish);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(replay.status().message(), HasSubstr("'activation_id'"));
}

TEST_F(EkActivationIntegrationTest, EkOfOneTpmWithTheAkOfAnotherCannotActivate) {
  std::unique_ptr<SwtpmFixture> swtpm_b = Manufactured();
  ASSERT_NE(swtpm_b, nullptr);
  std::unique_ptr<EsysTpm> tpm_a = OpenTpm(*swtpm_);
  std::unique_ptr<EsysTpm> tpm_b = OpenTpm(*swtpm_b);
  ASSERT_TRUE(tpm_a && tpm_b);
  auto cert_a = tpm_a->ReadEkCertificate();
  ASSERT_THAT(cert_a, IsOk());
  v1::StartActivationRequest start;
  start.set_ek_certificate(cert_a->der);                // TPM A's certified EK ...
  start.set_ak_public(*tpm_b->AttestationKeyPublic());  // ... claimed for TPM B's AK
  auto client = Client();
  auto challenge = client->StartActivation(start);
  ASSERT_THAT(challenge, IsOk());
  // TPM B does not hold the EK; TPM A does not hold the AK: neither recovers the secret.
  auto by_b = tpm_b->ActivateCredential(EkType::kRsa2048, challenge->credential_blob(),
                                        challenge->encrypted_secret());
  EXPECT_FALSE(by_b.ok());
  auto by_a = tpm_a->ActivateCredential(EkType::kRsa2048, challenge->credential_blob(),
                                        challenge->encrypted_secret());
  EXPECT_FALSE(by_a.ok());
  v1::FinishActivationRequest finish;
  finish.set_activation_id(challenge->activation_id());
  finish.set_secret(std::string(32, '\0'));
  auto done = client->FinishActivation(finish);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kUnauthenticated) << done.status();
}

}  // namespace
}  // namespace kb
