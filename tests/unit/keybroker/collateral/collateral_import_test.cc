// Collateral import over the real vectors (tests/data): recognition, validity at a chosen time,
// chains and signatures, replacement; through VerifyingCollateralCache over the SQLite store.
#include <stdlib.h>

#include <memory>
#include <string>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/collateral/verifying_collateral_cache.h"
#include "keybroker/store/sqlite_collateral_store.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::kb::snp_test::ReadData;
using ::kb::snp_test::Utc;
using ::testing::HasSubstr;
using ::testing::StartsWith;

#define EXPECT_REFUSED(expr, check, want_code)                                      \
  do {                                                                              \
    const absl::Status kb_s_ = (expr).status();                                     \
    EXPECT_EQ(kb_s_.code(), (want_code)) << kb_s_;                                  \
    EXPECT_THAT(std::string(kb_s_.message()),                                       \
                HasSubstr(absl::StrCat("collateral check '", (check), "' failed"))) \
        << kb_s_;                                                                   \
  } while (0)

class CollateralImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-collateral-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto db = OpenBrokerDatabase(dir_ + "/broker.db");
    ASSERT_THAT(db, IsOk());
    store_ = std::make_unique<SqliteCollateralStore>(*db);
    Rebuild(/*pin_tcb_signer=*/false);
  }
  void TearDown() override { (void)!system(("rm -rf " + dir_).c_str()); }

  // The Intel trust: the embedded root, optionally the TCB signing key pinned.
  void Rebuild(bool pin_tcb_signer) {
    CollateralTrust trust;
    auto intel = tdx::IntelTrustAnchors::FromPem(
        ReadData("tdx/gotdx_intel_sgx_root_ca.pem"),
        pin_tcb_signer ? ReadData("tdx/derived_intel_sgx_tcb_signing_2018-2025.pem") : "");
    ASSERT_THAT(intel, IsOk());
    trust.intel = *std::move(intel);
    cache_ = std::make_unique<VerifyingCollateralCache>(store_.get(), std::move(trust), &clock_);
  }
  void At(absl::Time t) { clock_.Advance(t - clock_.Now()); }
  absl::StatusOr<CollateralImport> Import(absl::string_view file) {
    return cache_->Import(ReadData(file), file);
  }

  std::string dir_;
  FakeClock clock_{Utc(2025, 6, 1)};
  std::unique_ptr<SqliteCollateralStore> store_;
  std::unique_ptr<VerifyingCollateralCache> cache_;
};

TEST_F(CollateralImportTest, RecognisesVceksWithTheirIdentity) {
  auto milan = Import("snp/trustee_test-vcek.der");
  ASSERT_THAT(milan, IsOk());
  EXPECT_EQ(milan->entry.kind, "vcek");
  EXPECT_THAT(milan->entry.identity, StartsWith("Milan VCEK hwID "));
  EXPECT_THAT(milan->entry.identity,
              ::testing::MatchesRegex(".*\\(64 bytes\\) TCB bl=[0-9]+ tee=[0-9]+ snp=[0-9]+ "
                                      "ucode=[0-9]+"));
  EXPECT_EQ(milan->entry.lookup_key.size(), 128u);
  EXPECT_EQ(milan->entry.not_before,
            Utc(2023, 1, 24) + absl::Hours(17) + absl::Minutes(58) + absl::Seconds(26));
  EXPECT_EQ(milan->entry.id.size(), 16u);
  EXPECT_FALSE(milan->replaced.has_value());

  auto turin = Import("snp/virtee_vcek_turin.der");
  ASSERT_THAT(turin, IsOk());
  EXPECT_THAT(turin->entry.identity, HasSubstr("Turin VCEK"));
  EXPECT_THAT(turin->entry.identity, HasSubstr("(8 bytes) TCB fmc="));

  auto pem = Import("az-snp-vtpm/trustee_vcek.pem");  // PEM, from Azure's IMDS
  ASSERT_THAT(pem, IsOk());
  EXPECT_EQ(pem->entry.kind, "vcek");

  auto vlek = Import("snp/trustee_test-vlek.der");
  ASSERT_THAT(vlek, IsOk());
  EXPECT_EQ(vlek->entry.kind, "vlek");
  EXPECT_THAT(vlek->entry.identity, HasSubstr("VLEK TCB"));

  auto list = cache_->List();
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->size(), 4u);
}

TEST_F(CollateralImportTest, ReimportReplacesAndDeleteRemoves) {
  auto first = Import("snp/trustee_test-vcek.der");
  ASSERT_THAT(first, IsOk());
  auto again = Import("snp/trustee_test-vcek.der");
  ASSERT_THAT(again, IsOk());
  ASSERT_TRUE(again->replaced.has_value());
  EXPECT_EQ(again->replaced->id, first->entry.id);
  auto deleted = cache_->Delete(first->entry.id);
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(deleted->kind, "vcek");
  EXPECT_EQ(cache_->Delete(first->entry.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(cache_->List()->empty());
}

TEST_F(CollateralImportTest, RefusesExpiredAndNotYetValidCertificates) {
  At(Utc(2031, 1, 1));  // the VCEK's notAfter is 2030-01-24
  EXPECT_REFUSED(Import("snp/trustee_test-vcek.der"), "validity",
                 absl::StatusCode::kFailedPrecondition);
  At(Utc(2022, 1, 1));
  EXPECT_REFUSED(Import("snp/trustee_test-vcek.der"), "validity",
                 absl::StatusCode::kFailedPrecondition);
  At(Utc(2026, 1, 1));  // the VLEK expired 2025-12-10
  EXPECT_REFUSED(Import("snp/trustee_test-vlek.der"), "validity",
                 absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(cache_->List()->empty());
}

TEST_F(CollateralImportTest, RefusesGarbageAndTrustAnchors) {
  EXPECT_REFUSED(cache_->Import("not collateral at all", "junk"), "recognise",
                 absl::StatusCode::kInvalidArgument);
  EXPECT_REFUSED(cache_->Import("{\"foo\": 1}", "junk.json"), "recognise",
                 absl::StatusCode::kInvalidArgument);
  EXPECT_REFUSED(cache_->Import("", "empty"), "recognise", absl::StatusCode::kInvalidArgument);
  std::string vcek = ReadData("snp/trustee_test-vcek.der");
  vcek[vcek.size() / 2] ^= 0x01;  // no longer the certificate AMD signed
  const absl::Status flipped = cache_->Import(vcek, "flipped").status();
  EXPECT_FALSE(flipped.ok());
  EXPECT_THAT(std::string(flipped.message()), HasSubstr("collateral check '"));
  EXPECT_REFUSED(Import("snp/virtee_milan_ask.pem"), "trust_anchor",
                 absl::StatusCode::kFailedPrecondition);
  EXPECT_REFUSED(Import("snp/virtee_milan_ark.pem"), "trust_anchor",
                 absl::StatusCode::kFailedPrecondition);
  EXPECT_REFUSED(Import("tdx/gotdx_intel_sgx_root_ca.pem"), "trust_anchor",
                 absl::StatusCode::kFailedPrecondition);
  EXPECT_REFUSED(Import("tdx/derived_gotdx_v4_quote_pck_leaf.pem"), "recognise",
                 absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cache_->List()->empty());
}

TEST_F(CollateralImportTest, TdxCollateralNeedsItsIssuerFirst) {
  At(Utc(2023, 7, 1));
  EXPECT_REFUSED(Import("tdx/gotdx_tcbInfo_fmspc50806f000000.json"), "signature",
                 absl::StatusCode::kFailedPrecondition);
  EXPECT_REFUSED(Import("tdx/gotdx_pckcrl_platform.der"), "chain",
                 absl::StatusCode::kFailedPrecondition);

  auto signer = Import("tdx/derived_gotdx_tcbInfoIssuerChain.pem");  // signing cert + root
  ASSERT_THAT(signer, IsOk());
  EXPECT_EQ(signer->entry.kind, "intel_tcb_signing");
  auto pck_ca = Import("tdx/derived_intel_sgx_pck_platform_ca.pem");
  ASSERT_THAT(pck_ca, IsOk());
  EXPECT_EQ(pck_ca->entry.kind, "intel_pck_ca");

  auto tcb = Import("tdx/gotdx_tcbInfo_fmspc50806f000000.json");
  ASSERT_THAT(tcb, IsOk());
  EXPECT_EQ(tcb->entry.kind, "tdx_tcb_info");
  EXPECT_EQ(tcb->entry.lookup_key, "50806f000000");
  EXPECT_THAT(tcb->entry.identity, HasSubstr("FMSPC 50806f000000"));
  EXPECT_EQ(tcb->entry.not_after,
            Utc(2023, 7, 18) + absl::Hours(8) + absl::Minutes(42) + absl::Seconds(58));

  auto qe = Import("tdx/gotdx_qeIdentity.json");
  ASSERT_THAT(qe, IsOk());
  EXPECT_EQ(qe->entry.kind, "tdx_qe_identity");
  EXPECT_THAT(qe->entry.identity, StartsWith("TD_QE"));

  auto root_crl = Import("tdx/gotdx_rootcrl.der");
  ASSERT_THAT(root_crl, IsOk());
  EXPECT_EQ(root_crl->entry.kind, "crl");
  EXPECT_EQ(root_crl->entry.identity, "CRL of Intel SGX Root CA number 1");
  auto pck_crl = Import("tdx/gotdx_pckcrl_platform.der");
  ASSERT_THAT(pck_crl, IsOk());
  EXPECT_EQ(pck_crl->entry.identity, "CRL of Intel SGX PCK Platform CA number 1");
  EXPECT_EQ(cache_->List()->size(), 6u);
}

TEST_F(CollateralImportTest, RefusesExpiredTdxCollateral) {
  At(Utc(2023, 8, 1));  // after nextUpdate (2023-07-18 / 2023-07-08)
  Rebuild(/*pin_tcb_signer=*/true);
  EXPECT_REFUSED(Import("tdx/gotdx_tcbInfo_fmspc50806f000000.json"), "validity",
                 absl::StatusCode::kFailedPrecondition);
  EXPECT_REFUSED(Import("tdx/gotdx_qeIdentity.json"), "validity",
                 absl::StatusCode::kFailedPrecondition);
  At(Utc(2024, 5, 1));
  EXPECT_REFUSED(Import("tdx/gotdx_rootcrl.der"), "validity",
                 absl::StatusCode::kFailedPrecondition);
  At(Utc(2025, 10, 1));  // the 2018-2025 TCB signing certificate has expired
  Rebuild(/*pin_tcb_signer=*/false);
  EXPECT_REFUSED(Import("tdx/derived_intel_sgx_tcb_signing_2018-2025.pem"), "validity",
                 absl::StatusCode::kFailedPrecondition);
}

TEST_F(CollateralImportTest, NewerTcbInfoReplacesOlderButNotBack) {
  Rebuild(/*pin_tcb_signer=*/true);  // Intel kept the key; the pin verifies both
  At(Utc(2023, 7, 1));
  auto old_tcb = Import("tdx/gotdx_tcbInfo_fmspc50806f000000.json");
  ASSERT_THAT(old_tcb, IsOk());
  At(Utc(2025, 10, 1));
  auto new_tcb = Import("tdx/teekit_tcbInfo-tdx-50806f000000.json");
  ASSERT_THAT(new_tcb, IsOk());
  ASSERT_TRUE(new_tcb->replaced.has_value());
  EXPECT_EQ(new_tcb->replaced->id, old_tcb->entry.id);
  At(Utc(2023, 7, 1));
  EXPECT_REFUSED(Import("tdx/gotdx_tcbInfo_fmspc50806f000000.json"), "newer",
                 absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(cache_->List()->size(), 1u);
  EXPECT_EQ(cache_->List()->front().id, new_tcb->entry.id);
}

}  // namespace
}  // namespace kb
