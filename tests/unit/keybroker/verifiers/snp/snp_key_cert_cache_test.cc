// The cache of VCEK/VLEK certificates whose chain verified: what it serves, and everything it
// must not (another chain, a time outside the chain's validity, a chain that failed), and that
// a cached key still has every report checked.
#include "keybroker/verifiers/snp/snp_key_cert_cache.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::snp_test::Input;
using ::kb::snp_test::TrusteeMilan;
using ::kb::snp_test::TrusteeVlek;
using ::kb::snp_test::Utc;
using ::kb::snp_test::VerifyTime;

TEST(SnpKeyCertCacheTest, AVerifiedChainIsKeptAndServesTheNextReport) {
  SnpKeyCertCache cache;
  auto first = VerifySnpReport(TrusteeMilan(), &cache);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Find(TrusteeMilan().vcek, "", VerifyTime()), nullptr);
  auto second = VerifySnpReport(TrusteeMilan(), &cache);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(second->measurement, first->measurement);
  EXPECT_EQ(second->chip_id, first->chip_id);
  EXPECT_EQ(second->reported_tcb.microcode, first->reported_tcb.microcode);
}

TEST(SnpKeyCertCacheTest, AChainThatFailsIsNotKept) {
  SnpKeyCertCache cache;
  SnpVerifyInput broken = TrusteeMilan();
  broken.vcek[42] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(broken, &cache), kSnpCheckCertChain,
                     StatusCode::kUnauthenticated);
  SnpVerifyInput asvk = TrusteeMilan();
  asvk.chain_pem = std::string(*BuiltinAmdChainPem(SnpProduct::kMilan, SnpSigner::kVlek));
  EXPECT_CHECK_FAILS(VerifySnpReport(asvk, &cache), kSnpCheckCertChain,
                     StatusCode::kUnauthenticated);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SnpKeyCertCacheTest, AnotherChainDoesNotFindTheVerifiedCertificate) {
  SnpKeyCertCache cache;
  ASSERT_THAT(VerifySnpReport(TrusteeMilan(), &cache), IsOk());  // under the built-in Milan chain
  SnpVerifyInput asvk = TrusteeMilan();
  asvk.chain_pem = std::string(*BuiltinAmdChainPem(SnpProduct::kMilan, SnpSigner::kVlek));
  EXPECT_CHECK_FAILS(VerifySnpReport(asvk, &cache), kSnpCheckCertChain,
                     StatusCode::kUnauthenticated);
  SnpVerifyInput genoa = TrusteeMilan();
  genoa.chain_pem = std::string(*BuiltinAmdChainPem(SnpProduct::kGenoa, SnpSigner::kVcek));
  EXPECT_CHECK_FAILS(VerifySnpReport(genoa, &cache), kSnpCheckCertChain,
                     StatusCode::kUnauthenticated);
}

TEST(SnpKeyCertCacheTest, AKeptCertificateIsNotUsedOutsideItsChainsValidity) {
  SnpKeyCertCache cache;
  ASSERT_THAT(VerifySnpReport(TrusteeVlek(), &cache), IsOk());
  SnpVerifyInput later = TrusteeVlek();
  later.verify_time = Utc(2026, 1, 1);  // the VLEK has expired
  EXPECT_CHECK_FAILS(VerifySnpReport(later, &cache), kSnpCheckCertChain,
                     StatusCode::kUnauthenticated);

  SnpVerifyInput genoa =
      Input("snp/derived_trustee_e2e_genoa_report.bin", "snp/derived_trustee_e2e_genoa_vcek.der");
  ASSERT_THAT(VerifySnpReport(genoa, &cache), IsOk());
  genoa.verify_time = Utc(2025, 1, 1);  // before the VCEK's notBefore
  EXPECT_CHECK_FAILS(VerifySnpReport(genoa, &cache), kSnpCheckCertChain,
                     StatusCode::kUnauthenticated);
}

TEST(SnpKeyCertCacheTest, AKeptCertificateStillHasEveryReportChecked) {
  SnpKeyCertCache cache;
  ASSERT_THAT(VerifySnpReport(TrusteeMilan(), &cache), IsOk());
  SnpVerifyInput in = TrusteeMilan();
  in.report[42] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(in, &cache), kSnpCheckReportSignature,
                     StatusCode::kUnauthenticated);
  in = TrusteeMilan();
  in.report[384] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(in, &cache), kSnpCheckVcekTcb, StatusCode::kUnauthenticated);
  in = TrusteeMilan();
  in.expected_report_data = std::string(32, 'x');
  EXPECT_CHECK_FAILS(VerifySnpReport(in, &cache), kSnpCheckReportData,
                     StatusCode::kUnauthenticated);
  // Another chip's report with this VCEK: the hwID check, not the cache, answers.
  SnpVerifyInput virtee = Input("snp/derived_virtee_report_milan.bin", "snp/trustee_test-vcek.der");
  EXPECT_CHECK_FAILS(VerifySnpReport(virtee, &cache), kSnpCheckHwId, StatusCode::kUnauthenticated);
  EXPECT_EQ(cache.size(), 1u);
}

std::shared_ptr<const VerifiedSnpKeyCert> Span(absl::Time from, absl::Time until) {
  auto e = std::make_shared<VerifiedSnpKeyCert>();
  e->not_before = from;
  e->not_after = until;
  return e;
}

TEST(SnpKeyCertCacheTest, TheSpanIsOpenAndComparedInWholeSeconds) {
  SnpKeyCertCache cache;
  const absl::Time from = Utc(2025, 1, 1), until = Utc(2026, 1, 1);
  cache.Insert("cert", "chain", Span(from, until));
  EXPECT_EQ(cache.Find("cert", "chain", from), nullptr);
  EXPECT_EQ(cache.Find("cert", "chain", from + absl::Milliseconds(500)), nullptr);
  EXPECT_NE(cache.Find("cert", "chain", from + absl::Seconds(1)), nullptr);
  EXPECT_NE(cache.Find("cert", "chain", until - absl::Milliseconds(500)), nullptr);
  EXPECT_EQ(cache.Find("cert", "chain", until), nullptr);
  EXPECT_EQ(cache.Find("cert", "chain2", from + absl::Hours(1)), nullptr);
  EXPECT_EQ(cache.Find("cert2", "chain", from + absl::Hours(1)), nullptr);
  // The chain's digest has a fixed length: no shift of bytes between chain and cert matches.
  EXPECT_EQ(cache.Find("tcert", "chain", from + absl::Hours(1)), nullptr);
}

TEST(SnpKeyCertCacheTest, AFullCacheDropsAnEntryForTheNewOne) {
  SnpKeyCertCache cache(2);
  const absl::Time from = Utc(2025, 1, 1), until = Utc(2026, 1, 1), at = Utc(2025, 6, 1);
  for (const char* cert : {"a", "b", "c"}) cache.Insert(cert, "", Span(from, until));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Find("c", "", at), nullptr);
  cache.Insert("c", "", Span(from, until));  // already there: nothing dropped
  EXPECT_EQ(cache.size(), 2u);
  SnpKeyCertCache none(0);
  none.Insert("a", "", Span(from, until));
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace kb
