#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"

#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/store/sqlite_stores.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class TpmQuoteVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *OpenBrokerDatabase(":memory:");
    registry_ = std::make_unique<SqliteAttestationKeyRegistry>(db_);
    verifier_ = std::make_unique<TpmQuoteVerifier>(registry_.get());
    tpm_ = *SoftwareTpm::Create();
    tpm_->SetPcr(7, std::string(32, '\x07'));
    Register(*tpm_, "web-1");
    nonce_ = *RandomBytes(32);
    request_ = *BuildRequest(*tpm_, "c1", nonce_, "disk");
  }

  void Register(SoftwareTpm& tpm, const std::string& machine) {
    std::string pub = *tpm.AttestationKeyPublic();
    auto parsed = ParseTpmtPublic(pub, "ak");
    ASSERT_TRUE(
        registry_->Register({*TpmName(parsed->nameAlg, pub), machine, pub, absl::Now()}).ok());
  }

  std::string Binding() const {
    return ComputeBinding(nonce_, "disk", request_.transfer_key().tpm().public_area());
  }

  absl::StatusOr<Claims> Verify() {
    return verifier_->Verify(request_.evidence(), request_.transfer_key(), Binding());
  }

  void ExpectCheckFails(absl::string_view check, absl::StatusCode code) {
    auto claims = Verify();
    ASSERT_FALSE(claims.ok());
    EXPECT_EQ(claims.status().code(), code) << claims.status();
    EXPECT_THAT(std::string(claims.status().message()), HasSubstr(absl::StrCat("'", check, "'")));
  }

  v1::TpmQuoteEvidence& quote() { return *request_.mutable_evidence()->mutable_tpm_quote(); }

  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteAttestationKeyRegistry> registry_;
  std::unique_ptr<TpmQuoteVerifier> verifier_;
  std::unique_ptr<SoftwareTpm> tpm_;
  std::string nonce_;
  v1::ReleaseKeyRequest request_;
};

TEST_F(TpmQuoteVerifierTest, GenuineEvidenceYieldsClaims) {
  auto claims = Verify();
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "tpm");
  EXPECT_EQ(claims->machine, "web-1");
  EXPECT_EQ(claims->pcrs.at("sha256").at(7), HexEncode(std::string(32, '\x07')));
  EXPECT_EQ(claims->pcrs.at("sha256").at(0), HexEncode(std::string(32, '\0')));
}

TEST_F(TpmQuoteVerifierTest, TruncatedAttestIsAParseError) {
  quote().mutable_attest()->resize(quote().attest().size() - 3);
  ExpectCheckFails("parse", absl::StatusCode::kInvalidArgument);
}

TEST_F(TpmQuoteVerifierTest, TrailingBytesAreAParseError) {
  quote().mutable_signature()->append("x");
  ExpectCheckFails("parse", absl::StatusCode::kInvalidArgument);
}

TEST_F(TpmQuoteVerifierTest, GarbageEvidenceIsAParseError) {
  quote().set_ak_public("\x00\x23garbage");
  ExpectCheckFails("parse", absl::StatusCode::kInvalidArgument);
}

TEST_F(TpmQuoteVerifierTest, UnregisteredAkIsRejected) {
  auto other = *SoftwareTpm::Create();
  request_ = *BuildRequest(*other, "c1", nonce_, "disk");
  ExpectCheckFails("ak_trusted", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, TamperedQuoteFailsSignature) {
  (*quote().mutable_attest())[quote().attest().size() - 40] ^= 1;
  ExpectCheckFails("quote_signature", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, WrongBindingIsRejected) {
  nonce_ = *RandomBytes(32);  // the verifier now expects another challenge
  ExpectCheckFails("quote_binding", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, WrongAttestTypeIsRejected) {
  // A certify structure signed by the AK presented as a quote.
  *quote().mutable_attest() = request_.transfer_key().tpm().certify_info();
  *quote().mutable_signature() = request_.transfer_key().tpm().certify_signature();
  ExpectCheckFails("quote_magic_and_type", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, LyingPcrValueFailsDigest) {
  quote().mutable_pcrs(1)->set_digest(std::string(32, '\x08'));
  ExpectCheckFails("pcr_digest", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, MissingOrExtraPcrValuesAreRejected) {
  quote().mutable_pcrs()->RemoveLast();
  ExpectCheckFails("pcr_digest", absl::StatusCode::kInvalidArgument);
  request_ = *BuildRequest(*tpm_, "c1", nonce_, "disk");
  auto* extra = quote().add_pcrs();
  extra->set_bank("sha256");
  extra->set_index(9);
  extra->set_digest(std::string(32, '\0'));
  ExpectCheckFails("pcr_digest", absl::StatusCode::kInvalidArgument);
}

TEST_F(TpmQuoteVerifierTest, SwappedTransferKeyIsRejected) {
  // An attacker replaces the transfer key with one of its own (certified by its own TPM).
  auto attacker = *SoftwareTpm::Create();
  auto forged = *BuildRequest(*attacker, "c1", nonce_, "disk");
  *request_.mutable_transfer_key() = forged.transfer_key();
  // The binding now covers the attacker's key, which the genuine quote does not carry.
  ExpectCheckFails("quote_binding", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, TransferKeyCertifiedByAnotherAkIsRejected) {
  auto attacker = *SoftwareTpm::Create();
  std::string pub = *attacker->CreateTransferKey(TransferKeyType::kEccP256);
  std::string binding = ComputeBinding(nonce_, "disk", pub);
  *request_.mutable_transfer_key()->mutable_tpm() = *attacker->CertifyTransferKey(binding);
  // Re-quote with the genuine AK over the new binding: only the certification is wrong.
  quote() = *tpm_->Quote(binding, {0, 7});
  ExpectCheckFails("transfer_key_certification", absl::StatusCode::kUnauthenticated);
}

TEST_F(TpmQuoteVerifierTest, UncertifiedTransferKeyIsRejected) {
  request_.mutable_transfer_key()->mutable_tpm()->clear_certify_info();
  ExpectCheckFails("parse", absl::StatusCode::kInvalidArgument);
}

TEST_F(TpmQuoteVerifierTest, CertificationOfAnotherKeyIsRejected) {
  // Certify key A, then present key B (same TPM) with A's certification.
  std::string a = *tpm_->CreateTransferKey(TransferKeyType::kEccP256);
  (void)a;
  std::string b = *tpm_->CreateTransferKey(TransferKeyType::kEccP256);
  std::string binding = ComputeBinding(nonce_, "disk", b);
  auto cert_b = *tpm_->CertifyTransferKey(binding);
  std::string c = *tpm_->CreateTransferKey(TransferKeyType::kEccP256);
  std::string binding_c = ComputeBinding(nonce_, "disk", c);
  // Certification by the AK of key b, but carrying c's binding is impossible without re-signing,
  // so sign a certify of b over c's binding through the raw AK.
  auto attest = ParseTpmsAttest(cert_b.certify_info(), "x");
  attest->extraData.size = 32;
  memcpy(attest->extraData.buffer, binding_c.data(), 32);
  std::string attest_bytes = *MarshalTpmsAttest(*attest);
  v1::TpmTransferKey forged;
  forged.set_public_area(c);
  forged.set_certify_info(attest_bytes);
  forged.set_certify_signature(*tpm_->SignWithAk(attest_bytes));
  *request_.mutable_transfer_key()->mutable_tpm() = forged;
  quote() = *tpm_->Quote(binding_c, {0, 7});
  ExpectCheckFails("transfer_key_certification", absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace kb
