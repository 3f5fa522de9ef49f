// The verifiers with the operator-managed collateral cache (FakeCollateralStore): SEV-SNP
// evidence without a VCEK, TDX evidence without tdx_collateral_dir, precedence between the
// directory and the cache, and validity at use time.
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/collateral/verifying_collateral_cache.h"
#include "keybroker/verifiers/snp/snp_collateral_lookup.h"
#include "keybroker/verifiers/snp/snp_evidence_verifier.h"
#include "keybroker/verifiers/tdx/collateral.h"
#include "keybroker/verifiers/tdx/tdx_collateral_lookup.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"
#include "tests/fakes/fake_collateral_store.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::kb::snp_test::ReadData;
using ::kb::snp_test::Utc;
using ::testing::HasSubstr;

// Imports `files` (tests/data) into `store` at `at`, as `keybrokerctl collateral import` would.
void ImportAll(FakeCollateralStore& store, absl::Time at, const std::vector<std::string>& files,
               bool pin_tcb_signer = false) {
  FakeClock clock(at);
  CollateralTrust trust;
  trust.intel = *tdx::IntelTrustAnchors::FromPem(
      ReadData("tdx/gotdx_intel_sgx_root_ca.pem"),
      pin_tcb_signer ? ReadData("tdx/derived_intel_sgx_tcb_signing_2018-2025.pem") : "");
  VerifyingCollateralCache cache(&store, std::move(trust), &clock);
  for (const std::string& f : files) {
    auto imported = cache.Import(ReadData(f), f);
    ASSERT_THAT(imported, IsOk()) << f << ": " << imported.status();
  }
}

v1::Evidence SnpWithoutVcek(absl::string_view report_file) {
  v1::Evidence e;
  e.mutable_snp_report()->set_report(ReadData(report_file));
  return e;
}

TEST(CachedSnpCollateralTest, EvidenceWithoutVcekVerifiesWithTheCachedOne) {
  FakeCollateralStore store;
  ImportAll(store, Utc(2025, 6, 1), {"snp/gosev_vcek_milan.der", "snp/trustee_test-vcek.der"});
  FakeClock clock(Utc(2025, 6, 1));
  SnpEvidenceVerifier v("", &clock, &store);
  auto claims = v.VerifyUnbound(SnpWithoutVcek("snp/trustee_test-report.bin"), v1::TransferKey());
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->evidence_type, "snp");
  EXPECT_EQ(claims->attributes.at("snp.signer"), "vcek");
}

TEST(CachedSnpCollateralTest, NoMatchingVcekIsTheNamedMissingVcekError) {
  FakeClock clock(Utc(2025, 6, 1));
  SnpEvidenceVerifier no_cache("", &clock);
  EXPECT_CHECK_FAILS(no_cache.VerifyUnbound(SnpWithoutVcek("snp/trustee_test-report.bin"), {}),
                     "parse", absl::StatusCode::kInvalidArgument);
  FakeCollateralStore store;
  ImportAll(store, Utc(2025, 6, 1), {"snp/gosev_vcek_milan.der"});  // another chip
  SnpEvidenceVerifier v("", &clock, &store);
  auto s = v.VerifyUnbound(SnpWithoutVcek("snp/trustee_test-report.bin"), {}).status();
  EXPECT_CHECK_FAILS(s, "parse", absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("no VCEK/VLEK"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("collateral cache has none for CHIP_ID"));
}

TEST(CachedSnpCollateralTest, AnEntryThatExpiredSinceItsImportIsRejected) {
  FakeCollateralStore store;
  ImportAll(store, Utc(2025, 6, 1), {"snp/trustee_test-vcek.der"});
  FakeClock clock(Utc(2031, 1, 1));  // the VCEK's notAfter is 2030-01-24
  SnpEvidenceVerifier v("", &clock, &store);
  auto s = v.VerifyUnbound(SnpWithoutVcek("snp/trustee_test-report.bin"), {}).status();
  EXPECT_CHECK_FAILS(s, "cert_chain", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("has expired"));
}

TEST(CachedSnpCollateralTest, VlekSignedReportUsesTheCachedVlek) {
  FakeCollateralStore store;
  ImportAll(store, Utc(2025, 6, 1), {"snp/trustee_test-vlek.der"});
  FakeClock clock(Utc(2025, 6, 1));
  SnpEvidenceVerifier v("", &clock, &store);
  auto claims = v.VerifyUnbound(SnpWithoutVcek("snp/trustee_test-vlek-report.bin"), {});
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->attributes.at("snp.signer"), "vlek");
}

TEST(CachedSnpCollateralTest, StoreDownIsUnavailable) {
  FakeCollateralStore store;
  store.down = true;
  FakeClock clock(Utc(2025, 6, 1));
  SnpEvidenceVerifier v("", &clock, &store);
  EXPECT_EQ(v.VerifyUnbound(SnpWithoutVcek("snp/trustee_test-report.bin"), {}).status().code(),
            absl::StatusCode::kUnavailable);
}

const std::vector<std::string>& GoTdxFiles() {
  static const auto* files =
      new std::vector<std::string>{"tdx/derived_gotdx_tcbInfoIssuerChain.pem",
                                   "tdx/derived_gotdx_pckCrlIssuerChain.pem",
                                   "tdx/gotdx_tcbInfo_fmspc50806f000000.json",
                                   "tdx/gotdx_qeIdentity.json",
                                   "tdx/gotdx_rootcrl.der",
                                   "tdx/gotdx_pckcrl_platform.der"};
  return *files;
}

v1::Evidence TdxEvidence() {
  v1::Evidence e;
  e.mutable_tdx_quote()->set_quote(ReadData("tdx/trustee_tdx_quote_4.dat"));
  return e;
}

TEST(CachedTdxCollateralTest, QuoteVerifiesWithCachedCollateralAlone) {
  FakeCollateralStore store;
  ImportAll(store, Utc(2023, 7, 1), GoTdxFiles());
  FakeClock clock(Utc(2023, 7, 1));
  TdxEvidenceVerifier without(*tdx::IntelTrustAnchors::Default(), nullptr, &clock);
  EXPECT_CHECK_FAILS(without.VerifyUnbound(TdxEvidence(), {}), "collateral",
                     absl::StatusCode::kFailedPrecondition);
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), nullptr, &clock, &store);
  auto claims = v.VerifyUnbound(TdxEvidence(), {});
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->attributes.at("tdx.tcb_status"), "UpToDate");
  EXPECT_EQ(claims->machine, "tdx-fmspc:50806f000000");
}

TEST(CachedTdxCollateralTest, CachedCrlThatExpiredSinceImportIsRejected) {
  FakeCollateralStore store;
  ImportAll(store, Utc(2023, 7, 1), GoTdxFiles());
  FakeClock clock(Utc(2023, 7, 10));  // PCK CRL nextUpdate 2023-07-08; tcbInfo still valid
  TdxEvidenceVerifier v(*tdx::IntelTrustAnchors::Default(), nullptr, &clock, &store);
  auto s = v.VerifyUnbound(TdxEvidence(), {}).status();
  EXPECT_CHECK_FAILS(s, "collateral", absl::StatusCode::kUnauthenticated);
}

TEST(CachedTdxCollateralTest, NewestValidTcbInfoWinsOverTheDirectory) {
  tdx::TdxCollateral dir;
  dir.tcb_info = *tdx::ParseTcbInfo(ReadData("tdx/gotdx_tcbInfo_fmspc50806f000000.json"));
  FakeCollateralStore store;
  ImportAll(store, Utc(2025, 10, 1), {"tdx/teekit_tcbInfo-tdx-50806f000000.json"},
            /*pin_tcb_signer=*/true);
  const std::string fmspc("\x50\x80\x6f\x00\x00\x00", 6);
  auto at_2025 = TdxCollateralWithCache(&dir, store, fmspc, Utc(2025, 10, 1));
  ASSERT_THAT(at_2025, IsOk());
  EXPECT_EQ(at_2025->tcb_info->issue_date,
            Utc(2025, 9, 29) + absl::Hours(18) + absl::Minutes(29) + absl::Seconds(22));
  // In 2023 the cached one is not yet valid: the directory's wins.
  auto at_2023 = TdxCollateralWithCache(&dir, store, fmspc, Utc(2023, 7, 1));
  ASSERT_THAT(at_2023, IsOk());
  EXPECT_EQ(at_2023->tcb_info->issue_date, dir.tcb_info->issue_date);
  // Neither valid: the newest is kept, so the 'collateral' check names its expiry.
  auto at_2030 = TdxCollateralWithCache(&dir, store, fmspc, Utc(2030, 1, 1));
  ASSERT_THAT(at_2030, IsOk());
  EXPECT_EQ(at_2030->tcb_info->issue_date, at_2025->tcb_info->issue_date);
}

}  // namespace
}  // namespace kb
