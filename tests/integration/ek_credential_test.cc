// The broker's software TPM2_MakeCredential against swtpm's real TPM2_ActivateCredential, and
// swtpm_localca EK certificates against the broker's EK certificate verifier.
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "common/crypto.h"
#include "common/tpm/make_credential.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ak_activation/ek_certificate.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/status_matchers.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/tpm/ek_templates.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// The public area of the primary key that `tmpl` derives in the endorsement hierarchy, read
// through a short-lived ESYS context of its own.
TPMT_PUBLIC PrimaryPublic(const std::string& tcti, const TPMT_PUBLIC& tmpl) {
  TSS2_TCTI_CONTEXT* t = nullptr;
  EXPECT_EQ(Tss2_TctiLdr_Initialize(tcti.c_str(), &t), TSS2_RC_SUCCESS);
  ESYS_CONTEXT* esys = nullptr;
  EXPECT_EQ(Esys_Initialize(&esys, t, nullptr), TSS2_RC_SUCCESS);
  absl::Cleanup done = [&] {
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&t);
  };
  TPM2B_PUBLIC in{};
  in.publicArea = tmpl;
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_DATA outside{};
  const TPML_PCR_SELECTION pcrs{};
  ESYS_TR handle = ESYS_TR_NONE;
  TPM2B_PUBLIC* out = nullptr;
  EXPECT_EQ(Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &sensitive, &in, &outside, &pcrs, &handle, &out,
                               nullptr, nullptr, nullptr),
            TSS2_RC_SUCCESS);
  TPMT_PUBLIC pub = out != nullptr ? out->publicArea : TPMT_PUBLIC{};
  Esys_Free(out);
  Esys_FlushContext(esys, handle);
  return pub;
}

class EkCredentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_dir_ = std::filesystem::temp_directory_path() / ("kb-ekca-" + HexEncode(*RandomBytes(6)));
    std::filesystem::create_directories(ca_dir_);
    auto swtpm = SwtpmFixture::Start({.create_ek_cert = true, .ek_ca_dir = ca_dir_});
    ASSERT_THAT(swtpm, IsOk());
    swtpm_ = std::move(*swtpm);
    OpenTpm();
    ASSERT_NE(tpm_, nullptr);
    ak_public_ = *tpm_->AttestationKeyPublic();
    ak_name_ = *TpmName(TPM2_ALG_SHA256, ak_public_);
  }
  // swtpm serves one connection at a time: other contexts need this one closed first.
  void OpenTpm() {
    EsysTpmOptions opts;
    opts.tcti = swtpm_->tcti();
    auto tpm = EsysTpm::Create(opts);
    ASSERT_THAT(tpm, IsOk());
    tpm_ = std::move(*tpm);
  }

  void TearDown() override {
    tpm_.reset();
    swtpm_.reset();
    std::filesystem::remove_all(ca_dir_);
  }

  std::string ca_dir_;
  std::unique_ptr<SwtpmFixture> swtpm_;
  std::unique_ptr<EsysTpm> tpm_;
  std::string ak_public_, ak_name_;
};

TEST_F(EkCredentialTest, SwtpmEkCertificateChainsToItsLocalCa) {
  auto cert = tpm_->ReadEkCertificate();
  ASSERT_THAT(cert, IsOk());
  EXPECT_EQ(cert->type, EkType::kRsa2048);
  auto verifier = EkCertificateVerifier::FromPemFiles(
      {SwtpmFixture::EkRootCaFile(ca_dir_), SwtpmFixture::EkIssuerCaFile(ca_dir_)});
  ASSERT_THAT(verifier, IsOk());
  auto ek = (*verifier)->Verify(cert->der, absl::Now());
  ASSERT_THAT(ek, IsOk());
  // Without the intermediate the chain is incomplete.
  auto root_only = EkCertificateVerifier::FromPemFiles({SwtpmFixture::EkRootCaFile(ca_dir_)});
  ASSERT_THAT(root_only, IsOk());
  auto incomplete = (*root_only)->Verify(cert->der, absl::Now());
  EXPECT_THAT(incomplete.status().message(), HasSubstr("ek_certificate_chain"));
}

TEST_F(EkCredentialTest, TpmActivatesTheSoftwareCredentialForItsRsaEk) {
  auto cert = tpm_->ReadEkCertificate();
  ASSERT_THAT(cert, IsOk());
  auto verifier = EkCertificateVerifier::FromPemFiles(
      {SwtpmFixture::EkRootCaFile(ca_dir_), SwtpmFixture::EkIssuerCaFile(ca_dir_)});
  ASSERT_THAT(verifier, IsOk());
  auto ek = (*verifier)->Verify(cert->der, absl::Now());
  ASSERT_THAT(ek, IsOk());
  const SecretBytes secret = *RandomSecret(32);
  auto made = MakeCredential(ek->public_key.get(), secret, ak_name_);
  ASSERT_THAT(made, IsOk());
  auto back =
      tpm_->ActivateCredential(EkType::kRsa2048, made->credential_blob, made->encrypted_secret);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*back, secret));

  // Made for another object's name: the TPM refuses (integrity), nothing is recovered.
  std::string other_name = ak_name_;
  other_name.back() ^= 0x01;
  auto other = MakeCredential(ek->public_key.get(), secret, other_name);
  ASSERT_THAT(other, IsOk());
  auto refused =
      tpm_->ActivateCredential(EkType::kRsa2048, other->credential_blob, other->encrypted_secret);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_FALSE(tpm_->ActivateCredential(EkType::kRsa2048, "junk", "junk").ok());
}

TEST_F(EkCredentialTest, TpmActivatesTheSoftwareCredentialForATemplateEccEk) {
  // swtpm provisions no P-256 EK: the EK comes from the default template L-2 on both sides.
  tpm_.reset();
  const TPMT_PUBLIC pub = PrimaryPublic(swtpm_->tcti(), EkTemplate(EkType::kEccP256));
  OpenTpm();
  auto key = PublicKeyFromTpmt(pub);
  ASSERT_THAT(key, IsOk());
  const SecretBytes secret = *RandomSecret(32);
  auto made = MakeCredential(key->get(), secret, ak_name_);
  ASSERT_THAT(made, IsOk());
  auto back =
      tpm_->ActivateCredential(EkType::kEccP256, made->credential_blob, made->encrypted_secret);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*back, secret));
}

}  // namespace
}  // namespace kb
