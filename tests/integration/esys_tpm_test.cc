// EsysTpm against a real swtpm: AK persistence, quotes and certifications that verify with the
// broker-side parsers, and wrap/unwrap round trips through the TPM.
#include "unlocker/esys/esys_tpm.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<EsysTpm> MustCreate(const SwtpmFixture& swtpm) {
  EsysTpmOptions opts;
  opts.tcti = swtpm.tcti();
  auto tpm = EsysTpm::Create(opts);
  EXPECT_THAT(tpm, IsOk());
  return tpm.ok() ? std::move(tpm).value() : nullptr;
}

SecretBytes DiskKey() { return SecretBytes::FromString("0123456789abcdef0123456789ABCDEF"); }

// Broker side: wraps the disk key to the marshaled transfer key public area.
v1::WrappedKey WrapTo(const std::string& public_bytes) {
  auto pub = ParseTpmtPublic(public_bytes, "transfer key");
  EXPECT_THAT(pub, IsOk());
  auto wrapped = WrapToTpmTransferKey(*pub, public_bytes, DiskKey());
  EXPECT_THAT(wrapped, IsOk());
  return *wrapped;
}

// Parses and verifies an attestation signed by the AK; returns the TPMS_ATTEST.
TPMS_ATTEST VerifiedAttest(const std::string& ak_public, const std::string& attest_bytes,
                           const std::string& sig_bytes) {
  auto ak = ParseTpmtPublic(ak_public, "ak");
  auto attest = ParseTpmsAttest(attest_bytes, "attest");
  auto sig = ParseTpmtSignature(sig_bytes, "signature");
  EXPECT_TRUE(ak.ok() && attest.ok() && sig.ok());
  if (!ak.ok() || !attest.ok() || !sig.ok()) return TPMS_ATTEST{};
  auto key = PublicKeyFromTpmt(*ak);
  EXPECT_THAT(key, IsOk());
  EXPECT_THAT(VerifyTpmSignature(key->get(), *sig, attest_bytes), IsOk());
  EXPECT_EQ(attest->magic, TPM2_GENERATED_VALUE);
  return *attest;
}

class EsysTpmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = SwtpmFixture::Start();
    ASSERT_THAT(s, IsOk());
    swtpm_ = std::move(s).value().release();
  }
  static void TearDownTestSuite() {
    delete swtpm_;
    swtpm_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(swtpm_, nullptr);
    tpm_ = MustCreate(*swtpm_);
    ASSERT_NE(tpm_, nullptr);
  }

  static SwtpmFixture* swtpm_;
  std::unique_ptr<EsysTpm> tpm_;
};
SwtpmFixture* EsysTpmTest::swtpm_ = nullptr;

TEST(EsysTpmAkTest, AkIsCreatedPersistedAndReused) {
  auto swtpm = SwtpmFixture::Start();
  ASSERT_THAT(swtpm, IsOk());
  std::string first;
  {
    auto tpm = MustCreate(**swtpm);
    ASSERT_NE(tpm, nullptr);
    auto ak = tpm->AttestationKeyPublic();
    ASSERT_THAT(ak, IsOk());
    first = *ak;
    auto pub = ParseTpmtPublic(first, "ak");
    ASSERT_THAT(pub, IsOk());
    EXPECT_EQ(pub->type, TPM2_ALG_ECC);
    EXPECT_EQ(pub->parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
    EXPECT_EQ(pub->parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
    EXPECT_NE(pub->objectAttributes & TPMA_OBJECT_RESTRICTED, 0u);
    EXPECT_NE(pub->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT, 0u);
    EXPECT_EQ(pub->objectAttributes & TPMA_OBJECT_DECRYPT, 0u);
  }
  auto again = MustCreate(**swtpm);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(*again->AttestationKeyPublic(), first);
  again.reset();
  // Survives a TPM restart (a reboot): the AK is persistent.
  ASSERT_THAT((*swtpm)->Restart(), IsOk());
  auto rebooted = MustCreate(**swtpm);
  ASSERT_NE(rebooted, nullptr);
  EXPECT_EQ(*rebooted->AttestationKeyPublic(), first);
}

TEST(EsysTpmAkTest, DeadPortIsUnavailableQuickly) {
  auto swtpm = SwtpmFixture::Start();
  ASSERT_THAT(swtpm, IsOk());
  EsysTpmOptions opts;
  opts.tcti = (*swtpm)->tcti();
  (*swtpm)->Stop();
  const auto start = std::chrono::steady_clock::now();
  auto tpm = EsysTpm::Create(opts);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(tpm.ok());
  EXPECT_EQ(tpm.status().code(), absl::StatusCode::kUnavailable) << tpm.status();
  EXPECT_THAT(std::string(tpm.status().message()), HasSubstr(opts.tcti));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  std::printf("dead TPM: %s\n", tpm.status().ToString().c_str());
}

TEST(EsysTpmAkTest, RejectsNonPersistentAkHandle) {
  auto swtpm = SwtpmFixture::Start();
  ASSERT_THAT(swtpm, IsOk());
  EsysTpmOptions opts;
  opts.tcti = (*swtpm)->tcti();
  opts.ak_handle = 0x80000001;
  EXPECT_EQ(EsysTpm::Create(opts).status().code(), absl::StatusCode::kInvalidArgument);
}

// Switching to an AK that is not there (an Azure HCL key on another vTPM) fails and leaves the
// AK in use as it was: its quotes still verify.
TEST_F(EsysTpmTest, AMissingAkLeavesTheOneInUse) {
  const std::string ak = *tpm_->AttestationKeyPublic();
  const absl::Status missing = tpm_->UseAttestationKey(0x81000003, /*create_if_missing=*/false);
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("no attestation key at persistent handle 0x81000003")));
  EXPECT_EQ(*tpm_->AttestationKeyPublic(), ak);
  auto ev = tpm_->Quote(Sha256("after a missing AK"), {7});
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->ak_public(), ak);
  VerifiedAttest(ev->ak_public(), ev->attest(), ev->signature());
}

TEST_F(EsysTpmTest, QuoteVerifiesAndMatchesPcrValues) {
  const std::string binding = Sha256("quote binding");
  // More than 8 PCRs, so PCR_Read needs several calls; duplicates and order do not matter.
  const std::vector<uint32_t> pcrs = {23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 7};
  auto ev = tpm_->Quote(binding, pcrs);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->ak_public(), *tpm_->AttestationKeyPublic());
  TPMS_ATTEST attest = VerifiedAttest(ev->ak_public(), ev->attest(), ev->signature());
  EXPECT_EQ(attest.type, TPM2_ST_ATTEST_QUOTE);
  EXPECT_EQ(Tpm2bBytes(attest.extraData), binding);

  ASSERT_EQ(ev->pcrs_size(), 16);
  std::string concat;
  uint32_t prev = 0;
  for (int i = 0; i < ev->pcrs_size(); ++i) {
    const v1::PcrValue& v = ev->pcrs(i);
    EXPECT_EQ(v.bank(), "sha256");
    EXPECT_EQ(v.digest().size(), 32u);
    if (i > 0) {
      EXPECT_GT(v.index(), prev);
    }
    prev = v.index();
    concat += v.digest();
  }
  EXPECT_EQ(ev->pcrs(15).index(), 23u);
  EXPECT_EQ(Sha256(concat), Tpm2bBytes(attest.attested.quote.pcrDigest));
  const TPML_PCR_SELECTION& sel = attest.attested.quote.pcrSelect;
  ASSERT_EQ(sel.count, 1u);
  EXPECT_EQ(sel.pcrSelections[0].hash, TPM2_ALG_SHA256);
}

TEST_F(EsysTpmTest, QuoteWithEmptySelection) {
  auto ev = tpm_->Quote(Sha256("empty"), {});
  if (!ev.ok()) {
    std::printf("empty PCR selection refused: %s\n", ev.status().ToString().c_str());
    EXPECT_EQ(ev.status().code(), absl::StatusCode::kInvalidArgument) << ev.status();
    return;
  }
  TPMS_ATTEST attest = VerifiedAttest(ev->ak_public(), ev->attest(), ev->signature());
  EXPECT_EQ(attest.type, TPM2_ST_ATTEST_QUOTE);
  EXPECT_EQ(ev->pcrs_size(), 0);
}

TEST_F(EsysTpmTest, QuoteRejectsBadPcrAndOversizedBinding) {
  EXPECT_EQ(tpm_->Quote("b", {24}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tpm_->Quote(std::string(100, 'x'), {0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EsysTpmTest, CertifyAndUnwrapNeedATransferKey) {
  EXPECT_EQ(tpm_->CertifyTransferKey("b").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tpm_->Unwrap(v1::WrappedKey()).status().code(), absl::StatusCode::kFailedPrecondition);
}

class EsysTpmTransferTest : public EsysTpmTest,
                            public ::testing::WithParamInterface<TransferKeyType> {};

TEST_P(EsysTpmTransferTest, TransferKeyIsDecryptOnlyAndFresh) {
  auto a = tpm_->CreateTransferKey(GetParam());
  ASSERT_THAT(a, IsOk());
  auto b = tpm_->CreateTransferKey(GetParam());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  auto pub = ParseTpmtPublic(*b, "transfer");
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->type, GetParam() == TransferKeyType::kEccP256 ? TPM2_ALG_ECC : TPM2_ALG_RSA);
  EXPECT_EQ(pub->nameAlg, TPM2_ALG_SHA256);
  const TPMA_OBJECT want = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                           TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                           TPMA_OBJECT_NODA | TPMA_OBJECT_DECRYPT;
  EXPECT_EQ(pub->objectAttributes, want);
}

TEST_P(EsysTpmTransferTest, CertifyVerifiesAndNamesTheTransferKey) {
  auto pub = tpm_->CreateTransferKey(GetParam());
  ASSERT_THAT(pub, IsOk());
  const std::string binding = Sha256("certify binding");
  auto tk = tpm_->CertifyTransferKey(binding);
  ASSERT_THAT(tk, IsOk());
  EXPECT_EQ(tk->public_area(), *pub);
  TPMS_ATTEST attest =
      VerifiedAttest(*tpm_->AttestationKeyPublic(), tk->certify_info(), tk->certify_signature());
  EXPECT_EQ(attest.type, TPM2_ST_ATTEST_CERTIFY);
  EXPECT_EQ(Tpm2bBytes(attest.extraData), binding);
  auto name = TpmName(TPM2_ALG_SHA256, tk->public_area());
  ASSERT_THAT(name, IsOk());
  const TPM2B_NAME& certified = attest.attested.certify.name;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(certified.name), certified.size), *name);
}

TEST_P(EsysTpmTransferTest, UnwrapRoundTrip) {
  auto pub = tpm_->CreateTransferKey(GetParam());
  ASSERT_THAT(pub, IsOk());
  auto key = tpm_->Unwrap(WrapTo(*pub));
  ASSERT_THAT(key, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*key, DiskKey()));
}

TEST_P(EsysTpmTransferTest, TamperedOrStaleWrappedKeyFails) {
  auto pub = tpm_->CreateTransferKey(GetParam());
  ASSERT_THAT(pub, IsOk());
  const v1::WrappedKey good = WrapTo(*pub);

  v1::WrappedKey tampered = good;
  (*tampered.mutable_wrapped())[3] ^= 1;
  auto r = tpm_->Unwrap(tampered);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("unwrapping the disk key"));

  v1::WrappedKey bad_kek = good;
  if (good.scheme() == v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP) {
    (*bad_kek.mutable_ephemeral_public())[10] ^= 1;  // almost surely off the curve
  } else {
    (*bad_kek.mutable_encrypted_kek())[10] ^= 1;  // OAEP padding check fails
  }
  r = tpm_->Unwrap(bad_kek);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();

  v1::WrappedKey wrong_scheme = good;
  wrong_scheme.set_scheme(good.scheme() == v1::WRAP_SCHEME_RSA_OAEP_SHA256_A256KWP
                              ? v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP
                              : v1::WRAP_SCHEME_RSA_OAEP_SHA256_A256KWP);
  EXPECT_EQ(tpm_->Unwrap(wrong_scheme).status().code(), absl::StatusCode::kInvalidArgument);

  // Wrapped to a transfer key that has since been replaced.
  ASSERT_THAT(tpm_->CreateTransferKey(GetParam()), IsOk());
  r = tpm_->Unwrap(good);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
}

INSTANTIATE_TEST_SUITE_P(Types, EsysTpmTransferTest,
                         ::testing::Values(TransferKeyType::kEccP256, TransferKeyType::kRsa2048),
                         [](const ::testing::TestParamInfo<TransferKeyType>& info) {
                           return info.param == TransferKeyType::kEccP256 ? "EccP256" : "Rsa2048";
                         });

// Prints how long CreateTransferKey takes per type (no assertion: machines differ).
TEST_F(EsysTpmTest, CreateTransferKeyTiming) {
  struct Case {
    const char* name;
    TransferKeyType type;
    int runs;
  };
  for (const Case& c : {Case{"ECC P-256", TransferKeyType::kEccP256, 10},
                        Case{"RSA-2048", TransferKeyType::kRsa2048, 5},
                        Case{"RSA-3072", TransferKeyType::kRsa3072, 3}}) {
    double total_ms = 0, max_ms = 0;
    for (int i = 0; i < c.runs; ++i) {
      const auto start = std::chrono::steady_clock::now();
      ASSERT_THAT(tpm_->CreateTransferKey(c.type), IsOk());
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      total_ms += ms;
      max_ms = std::max(max_ms, ms);
    }
    std::printf("[ timing ] CreateTransferKey %-9s: mean %8.1f ms, max %8.1f ms (%d runs)\n",
                c.name, total_ms / c.runs, max_ms, c.runs);
  }
}

}  // namespace
}  // namespace kb
