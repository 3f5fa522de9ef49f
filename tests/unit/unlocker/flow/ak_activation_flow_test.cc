// The guest's EK activation flow against the broker's AkActivationService in process, with a
// software AK and a software EK (TPM2_ActivateCredential in software).
#include "unlocker/flow/ak_activation_flow.h"

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/tpm/make_credential.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ak_activation/activation_service.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "tests/fakes/ek_test_pki.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/status_matchers.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// An EK held in OpenSSL: `cert_der` is what NV would hold (empty: not provisioned).
class SoftwareEndorsement final : public TpmEndorsement {
 public:
  SoftwareEndorsement(EVP_PKEY* ek, std::string cert_der, std::string ak_name)
      : ek_(ek), cert_der_(std::move(cert_der)), ak_name_(std::move(ak_name)) {}
  absl::StatusOr<EkCertificate> ReadEkCertificate() override {
    if (cert_der_.empty()) return absl::NotFoundError("no EK certificate");
    return EkCertificate{EkType::kRsa2048, cert_der_};
  }
  absl::StatusOr<SecretBytes> ActivateCredential(EkType type, absl::string_view blob,
                                                 absl::string_view secret) override {
    return ActivateCredentialInSoftware(ek_, blob, secret, ak_name_);
  }

 private:
  EVP_PKEY* ek_;
  std::string cert_der_;
  std::string ak_name_;
};

class InProcessClient final : public AkActivationClient {
 public:
  explicit InProcessClient(AkActivationService* service) : service_(service) {}
  absl::StatusOr<v1::StartActivationResponse> StartActivation(
      const v1::StartActivationRequest& r) override {
    return service_->StartActivation(r, "in-process");
  }
  absl::StatusOr<v1::FinishActivationResponse> FinishActivation(
      const v1::FinishActivationRequest& r) override {
    return service_->FinishActivation(r, "in-process");
  }

 private:
  AkActivationService* service_;
};

class AkActivationFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *OpenBrokerDatabase(":memory:");
    aks_ = std::make_unique<SqliteAttestationKeyRegistry>(db_);
    audit_ = std::make_unique<SqliteAuditLog>(db_);
    denylist_ = std::make_unique<SqliteMachineDenyList>(db_);
    root_ = NewCa("Test TPM Root", nullptr);
    verifier_ = *EkCertificateVerifier::FromPem({Pem(root_.cert.get())});
    service_ = std::make_unique<AkActivationService>(
        AkActivationService::Deps{verifier_.get(), aks_.get(), audit_.get(), denylist_.get(),
                                  &clock_},
        absl::Seconds(60));
    tpm_ = *SoftwareTpm::Create();
    ak_name_ = *TpmName(TPM2_ALG_SHA256, *tpm_->AttestationKeyPublic());
    ek_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    ek_cert_ = Der(Sign(ek_.get(), "ek", &root_, false, kEkTestPkiStart + absl::Hours(24)).get());
    connect_ =
        [this](const std::string& endpoint) -> absl::StatusOr<std::unique_ptr<AkActivationClient>> {
      if (endpoint.starts_with("down")) return absl::UnavailableError("connection refused");
      return std::unique_ptr<AkActivationClient>(new InProcessClient(service_.get()));
    };
    progress_ = [this](const std::string& line) { lines_.push_back(line); };
  }

  absl::StatusOr<AkActivationResult> Activate(TpmEndorsement& endorsement,
                                              const std::vector<std::string>& endpoints) {
    return ActivateAkThroughEk(*tpm_, endorsement, connect_, endpoints, progress_);
  }

  FakeClock clock_;
  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteAttestationKeyRegistry> aks_;
  std::unique_ptr<SqliteAuditLog> audit_;
  std::unique_ptr<SqliteMachineDenyList> denylist_;
  Ca root_;
  std::unique_ptr<EkCertificateVerifier> verifier_;
  std::unique_ptr<AkActivationService> service_;
  std::unique_ptr<SoftwareTpm> tpm_;
  std::string ak_name_;
  EvpPkeyPtr ek_;
  std::string ek_cert_;
  AkActivationConnector connect_;
  Progress progress_;
  std::vector<std::string> lines_;
};

TEST_F(AkActivationFlowTest, ProvesTheAkAtTheFirstReachableBroker) {
  SoftwareEndorsement endorsement(ek_.get(), ek_cert_, ak_name_);
  auto result = Activate(endorsement, {"down:1", "up:1"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->endpoint, "up:1");
  EXPECT_EQ(result->machine, EkMachineName(SpkiDer(ek_.get())));
  EXPECT_TRUE(result->newly_registered);
  auto registered = aks_->Lookup(ak_name_);
  ASSERT_THAT(registered, IsOk());
  EXPECT_EQ(registered->machine, result->machine);
  EXPECT_THAT(lines_.back(), HasSubstr("trusts the attestation key as machine ek:"));
}

TEST_F(AkActivationFlowTest, ARefusalIsADenialAndStops) {
  AkActivationService off({nullptr, aks_.get(), audit_.get(), denylist_.get(), &clock_},
                          absl::Seconds(60));
  connect_ = [&off](const std::string&) -> absl::StatusOr<std::unique_ptr<AkActivationClient>> {
    return std::unique_ptr<AkActivationClient>(new InProcessClient(&off));
  };
  SoftwareEndorsement endorsement(ek_.get(), ek_cert_, ak_name_);
  auto result = Activate(endorsement, {"a:1", "b:1"});
  EXPECT_EQ(ExitCodeOf(result.status()), ExitCode::kDenied);
  EXPECT_THAT(result.status().message(), HasSubstr("ek_ca_files"));
  EXPECT_EQ(lines_.size(), 1u);  // b:1 was not asked
}

TEST_F(AkActivationFlowTest, NoBrokerReachableIsUnreachable) {
  SoftwareEndorsement endorsement(ek_.get(), ek_cert_, ak_name_);
  auto result = Activate(endorsement, {"down:1", "down:2"});
  EXPECT_EQ(ExitCodeOf(result.status()), ExitCode::kBrokerUnreachable);
  EXPECT_THAT(result.status().message(), HasSubstr("connection refused"));
}

TEST_F(AkActivationFlowTest, MissingEkCertificateIsATpmError) {
  SoftwareEndorsement endorsement(ek_.get(), "", ak_name_);
  auto result = Activate(endorsement, {"up:1"});
  EXPECT_EQ(ExitCodeOf(result.status()), ExitCode::kTpmUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("EK certificate"));
}

TEST_F(AkActivationFlowTest, ACertificateForAnotherEkCannotBeActivated) {
  EvpPkeyPtr other(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  SoftwareEndorsement endorsement(other.get(), ek_cert_, ak_name_);  // cert is not for `other`
  auto result = Activate(endorsement, {"up:1"});
  EXPECT_EQ(ExitCodeOf(result.status()), ExitCode::kTpmUnavailable);
  EXPECT_TRUE(absl::IsNotFound(aks_->Lookup(ak_name_).status()));
}

TEST(AkActivationFlowHelpersTest, RecognisesTheUntrustedAkRejection) {
  EXPECT_TRUE(IsAkNotTrusted(CheckFailed("ak_trusted", absl::StatusCode::kUnauthenticated,
                                         "AK 0011... is not registered")));
  EXPECT_FALSE(IsAkNotTrusted(
      CheckFailed("quote_signature", absl::StatusCode::kUnauthenticated, "bad signature")));
  EXPECT_FALSE(IsAkNotTrusted(absl::PermissionDeniedError("policy: 'ak_trusted' in a name")));
}

TEST(AkActivationFlowHelpersTest, EnrolmentActivatesOnlyForEk) {
  int calls = 0;
  AkActivator activate = [&calls](const std::vector<std::string>&) {
    ++calls;
    return absl::OkStatus();
  };
  EXPECT_THAT(ActivateForEnrolment("", activate, {"a:1"}), IsOk());
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(ActivateForEnrolment("ek", activate, {"a:1"}), IsOk());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ExitCodeOf(ActivateForEnrolment("tofu", activate, {"a:1"})), ExitCode::kUsage);
  EXPECT_EQ(ExitCodeOf(ActivateForEnrolment("ek", nullptr, {"a:1"})), ExitCode::kUsage);
}

}  // namespace
}  // namespace kb
