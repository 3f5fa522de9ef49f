// AkActivationService over an in-memory SQLite store, a fake clock, a software AK and a test
// EK PKI (root -> intermediate -> EK certificate) made here with OpenSSL.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/tpm/make_credential.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ak_activation/activation_service.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/fakes/ek_test_pki.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = kEkTestPkiStart;

class AkActivationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *OpenBrokerDatabase(":memory:");
    aks_ = std::make_unique<SqliteAttestationKeyRegistry>(db_);
    audit_ = std::make_unique<SqliteAuditLog>(db_);
    denylist_ = std::make_unique<SqliteMachineDenyList>(db_);
    root_ = NewCa("Test TPM Root", nullptr);
    intermediate_ = NewCa("Test TPM EK Issuing CA", &root_);
    auto verifier =
        EkCertificateVerifier::FromPem({Pem(root_.cert.get()) + Pem(intermediate_.cert.get())});
    ASSERT_THAT(verifier, IsOk());
    verifier_ = std::move(*verifier);
    service_ = std::make_unique<AkActivationService>(
        AkActivationService::Deps{verifier_.get(), aks_.get(), audit_.get(), denylist_.get(),
                                  &clock_},
        absl::Seconds(60));
    ek_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    ek_cert_ = Sign(ek_.get(), "ek", &intermediate_, false, kStart + absl::Hours(24 * 365));
    tpm_ = *SoftwareTpm::Create();
    ak_public_ = *tpm_->AttestationKeyPublic();
    ak_name_ = *TpmName(TPM2_ALG_SHA256, ak_public_);
  }

  v1::StartActivationRequest StartRequest() {
    v1::StartActivationRequest r;
    r.set_ek_certificate(Der(ek_cert_.get()));
    r.set_ak_public(ak_public_);
    return r;
  }

  // What the TPM holding `ek` recovers from the credential (for the AK's name).
  std::string Recover(const v1::StartActivationResponse& start, EVP_PKEY* ek) {
    auto secret = ActivateCredentialInSoftware(ek, start.credential_blob(),
                                               start.encrypted_secret(), ak_name_);
    return secret.ok() ? std::string(secret->view()) : "";
  }

  absl::StatusOr<v1::FinishActivationResponse> Finish(const std::string& id,
                                                      const std::string& secret) {
    v1::FinishActivationRequest r;
    r.set_activation_id(id);
    r.set_secret(secret);
    return service_->FinishActivation(r, "ipv4:127.0.0.1:1");
  }

  FakeClock clock_{kStart};
  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteAttestationKeyRegistry> aks_;
  std::unique_ptr<SqliteAuditLog> audit_;
  std::unique_ptr<SqliteMachineDenyList> denylist_;
  Ca root_, intermediate_;
  std::unique_ptr<EkCertificateVerifier> verifier_;
  std::unique_ptr<AkActivationService> service_;
  EvpPkeyPtr ek_;
  X509Ptr ek_cert_;
  std::unique_ptr<SoftwareTpm> tpm_;
  std::string ak_public_, ak_name_;
};

TEST_F(AkActivationTest, RightSecretRegistersTheAkForTheEkMachine) {
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  EXPECT_EQ(start->expires_at().seconds(), absl::ToUnixSeconds(kStart + absl::Seconds(60)));
  auto done = Finish(start->activation_id(), Recover(*start, ek_.get()));
  ASSERT_THAT(done, IsOk());
  const std::string machine = EkMachineName(SpkiDer(ek_.get()));
  EXPECT_EQ(done->machine(), machine);
  EXPECT_THAT(machine, ::testing::MatchesRegex("ek:[0-9a-f]{16}"));
  EXPECT_TRUE(done->newly_registered());
  auto registered = aks_->Lookup(ak_name_);
  ASSERT_THAT(registered, IsOk());
  EXPECT_EQ(registered->machine, machine);
  EXPECT_EQ(registered->public_area, ak_public_);
  auto records = audit_->List(AuditQuery{});
  ASSERT_TRUE(records.ok() && !records->empty());
  EXPECT_EQ(records->front().action, "ak_activation_finish");
  EXPECT_EQ(records->front().decision, "allow");
  EXPECT_EQ(records->front().actor, "machine:" + machine);
}

TEST_F(AkActivationTest, EccP256EkWorksToo) {
  EvpPkeyPtr ecc_ek(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  X509Ptr cert = Sign(ecc_ek.get(), "ek", &intermediate_, false, kStart + absl::Hours(24));
  v1::StartActivationRequest r = StartRequest();
  r.set_ek_certificate(Der(cert.get()));
  auto start = service_->StartActivation(r, "peer");
  ASSERT_THAT(start, IsOk());
  auto done = Finish(start->activation_id(), Recover(*start, ecc_ek.get()));
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->machine(), EkMachineName(SpkiDer(ecc_ek.get())));
}

TEST_F(AkActivationTest, WithoutEkCasThePathIsOff) {
  AkActivationService off({nullptr, aks_.get(), audit_.get(), denylist_.get(), &clock_},
                          absl::Seconds(60));
  auto start = off.StartActivation(StartRequest(), "peer");
  EXPECT_EQ(start.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(start.status().message(), HasSubstr("ek_ca_files"));
}

TEST_F(AkActivationTest, CertificateOfAnotherCaFailsTheChainCheck) {
  Ca other_root = NewCa("Other Root", nullptr);
  X509Ptr cert = Sign(ek_.get(), "ek", &other_root, false, kStart + absl::Hours(24));
  v1::StartActivationRequest r = StartRequest();
  r.set_ek_certificate(Der(cert.get()));
  auto start = service_->StartActivation(r, "peer");
  EXPECT_EQ(start.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(start.status().message(), HasSubstr("'ek_certificate_chain'"));
  auto records = audit_->List(AuditQuery{});
  ASSERT_TRUE(records.ok() && !records->empty());
  EXPECT_EQ(records->front().decision, "deny");
  EXPECT_THAT(records->front().reason, HasSubstr("ek_certificate_chain"));
}

TEST_F(AkActivationTest, IntermediateAloneIsNoTrustAnchor) {
  auto only_intermediate = EkCertificateVerifier::FromPem({Pem(intermediate_.cert.get())});
  EXPECT_EQ(only_intermediate.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AkActivationTest, ExpiredCertificateFailsTheChainCheck) {
  clock_.Advance(absl::Hours(24 * 366));
  auto start = service_->StartActivation(StartRequest(), "peer");
  EXPECT_EQ(start.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(start.status().message(), HasSubstr("expired"));
}

TEST_F(AkActivationTest, MalformedInputsNameTheirCheck) {
  v1::StartActivationRequest r = StartRequest();
  r.set_ek_certificate("not a certificate");
  EXPECT_THAT(service_->StartActivation(r, "peer").status().message(),
              HasSubstr("'ek_certificate_parse'"));
  r = StartRequest();
  r.set_ak_public("junk");
  EXPECT_THAT(service_->StartActivation(r, "peer").status().message(),
              HasSubstr("'ak_public_parse'"));
  // A decrypt-only key is no attestation key.
  r = StartRequest();
  r.set_ak_public(*tpm_->CreateTransferKey(TransferKeyType::kEccP256));
  auto start = service_->StartActivation(r, "peer");
  EXPECT_EQ(start.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(start.status().message(), HasSubstr("'ak_attributes'"));
}

TEST_F(AkActivationTest, WrongSecretIsRejectedAndTheIdIsSpent) {
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  const std::string right = Recover(*start, ek_.get());
  std::string wrong = right;
  wrong[0] ^= 0x01;
  auto tampered = Finish(start->activation_id(), wrong);
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(tampered.status().message(), HasSubstr("'credential_secret'"));
  auto replay = Finish(start->activation_id(), right);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(replay.status().message(), HasSubstr("'activation_id'"));
  EXPECT_TRUE(absl::IsNotFound(aks_->Lookup(ak_name_).status()));
}

TEST_F(AkActivationTest, AnotherTpmCannotRecoverTheSecret) {
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  EvpPkeyPtr other_ek(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  EXPECT_EQ(Recover(*start, other_ek.get()), "");
  auto done = Finish(start->activation_id(), std::string(32, '\0'));
  EXPECT_EQ(done.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AkActivationTest, SuccessfulActivationIsSingleUse) {
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  const std::string secret = Recover(*start, ek_.get());
  ASSERT_THAT(Finish(start->activation_id(), secret), IsOk());
  EXPECT_EQ(Finish(start->activation_id(), secret).status().code(), absl::StatusCode::kAborted);
}

TEST_F(AkActivationTest, ExpiredActivationIsRejected) {
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  clock_.Advance(absl::Seconds(61));
  auto done = Finish(start->activation_id(), Recover(*start, ek_.get()));
  EXPECT_EQ(done.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(done.status().message(), HasSubstr("expired"));
}

TEST_F(AkActivationTest, DeniedMachineIsRefused) {
  const std::string machine = EkMachineName(SpkiDer(ek_.get()));
  ASSERT_THAT(denylist_->Deny({machine, "stolen", "op", kStart}), IsOk());
  auto start = service_->StartActivation(StartRequest(), "peer");
  EXPECT_EQ(start.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(start.status().message(), HasSubstr("'machine_allowed'"));
}

TEST_F(AkActivationTest, DenialAfterStartStillApplies) {
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  const std::string machine = EkMachineName(SpkiDer(ek_.get()));
  ASSERT_THAT(denylist_->Deny({machine, "stolen", "op", kStart}), IsOk());
  auto done = Finish(start->activation_id(), Recover(*start, ek_.get()));
  EXPECT_EQ(done.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::IsNotFound(aks_->Lookup(ak_name_).status()));
}

TEST_F(AkActivationTest, AlreadyRegisteredAkKeepsItsMachine) {
  ASSERT_THAT(aks_->Register({ak_name_, "vm-operator", ak_public_, kStart}), IsOk());
  auto start = service_->StartActivation(StartRequest(), "peer");
  ASSERT_THAT(start, IsOk());
  auto done = Finish(start->activation_id(), Recover(*start, ek_.get()));
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->machine(), "vm-operator");
  EXPECT_FALSE(done->newly_registered());
}

TEST_F(AkActivationTest, PendingActivationsAreBounded) {
  AkActivationService small({verifier_.get(), aks_.get(), audit_.get(), denylist_.get(), &clock_},
                            absl::Seconds(60), /*max_pending=*/2);
  ASSERT_THAT(small.StartActivation(StartRequest(), "peer"), IsOk());
  ASSERT_THAT(small.StartActivation(StartRequest(), "peer"), IsOk());
  EXPECT_EQ(small.StartActivation(StartRequest(), "peer").status().code(),
            absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Seconds(61));  // expired ones make room
  EXPECT_THAT(small.StartActivation(StartRequest(), "peer"), IsOk());
}

// A deny list whose store is down, with an error naming the database as libpq's do.
class UnreachableDenyList final : public MachineDenyList {
 public:
  absl::Status Deny(const DeniedMachineRecord&) override { return Down(); }
  absl::StatusOr<bool> Allow(absl::string_view) override { return Down(); }
  absl::StatusOr<std::optional<DeniedMachineRecord>> Find(absl::string_view) override {
    return Down();
  }
  absl::StatusOr<std::vector<DeniedMachineRecord>> List() override { return Down(); }

 private:
  static absl::Status Down() {
    return absl::UnavailableError("PostgreSQL host=db.internal dbname=kb: \"10.0.0.5\" refused");
  }
};

// Anyone with a public EK certificate reaches the deny-list read: its failure must not tell
// them where the database is.
TEST_F(AkActivationTest, AStoreFailureReachesTheClientWithoutItsDetail) {
  UnreachableDenyList down;
  AkActivationService service({verifier_.get(), aks_.get(), audit_.get(), &down, &clock_},
                              absl::Seconds(60));
  auto start = service.StartActivation(StartRequest(), "peer");
  EXPECT_THAT(start, StatusIs(absl::StatusCode::kUnavailable,
                              HasSubstr("ak_activation_start failed on the broker's side")));
  EXPECT_THAT(std::string(start.status().message()), ::testing::Not(HasSubstr("10.0.0.5")));
  EXPECT_THAT(std::string(start.status().message()), ::testing::Not(HasSubstr("db.internal")));
}

}  // namespace
}  // namespace kb
