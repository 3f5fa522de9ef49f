// AzureVtpmEvidenceVerifier for kind TDX (az-tdx-vtpm) over the real vectors, and the TDX
// policy clauses applied to its claims. Real evidence cannot carry a broker binding: the
// bound path is shown failing at the named binding checks, the dry run passing.
#include <memory>
#include <string>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kb/v1/policy.pb.h"
#include "keybroker/policy/tee_policy.h"
#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"
#include "tests/fakes/fake_collateral_store.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_tdx_evidence.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::azure_tdx_test::ReadData;
using ::testing::HasSubstr;

v1::Evidence AzureTdxEvidence() {
  v1::Evidence e;
  v1::AzureVtpmEvidence* az = e.mutable_azure_vtpm();
  az->set_kind(v1::AZURE_VTPM_KIND_TDX);
  az->set_hcl_report(ReadData(azure_tdx_test::kHcl));
  az->set_td_quote(ReadData(azure_tdx_test::kTdQuote));
  TpmQuote q = snp_test::ParseTrusteeQuote(ReadData("az-tdx-vtpm/trustee_tpm-quote-v1.json"));
  az->mutable_quote()->set_attest(q.attest);
  az->mutable_quote()->set_signature(q.signature);
  for (size_t i = 0; i < q.pcrs_sha256.size(); ++i) {
    v1::PcrValue* p = az->mutable_quote()->add_pcrs();
    p->set_bank("sha256");
    p->set_index(static_cast<uint32_t>(i));
    p->set_digest(q.pcrs_sha256[i]);
  }
  return e;
}

v1::TransferKey AzureTpmKey() {
  v1::TransferKey tk;
  tk.mutable_tpm()->set_public_area("not a TPMT_PUBLIC");
  return tk;
}

// As the broker builds it (tee_verifiers.cc), with the pinned TCB signer and, since no CRLs
// valid in 2025 were published, CRLs not required.
AzureTdxTrust Trust(bool require_crls = false) {
  AzureTdxTrust t;
  t.anchors = azure_tdx_test::PinnedAnchors();
  auto cache = TdxCollateralCache::FromItems(azure_tdx_test::CollateralItems());
  EXPECT_THAT(cache, IsOk());
  if (cache.ok()) t.collateral = std::move(*cache);
  t.options.require_crls = require_crls;
  return t;
}

class AzureTdxEvidenceVerifierTest : public ::testing::Test {
 protected:
  FakeClock clock_{azure_tdx_test::VerifyTime()};
  AzureVtpmEvidenceVerifier verifier_{"", Trust(), &clock_};
};

TEST_F(AzureTdxEvidenceVerifierTest, DryRunGivesTdxAndAzureClaims) {
  auto c = verifier_.VerifyUnbound(AzureTdxEvidence(), v1::TransferKey());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->evidence_type, "az-tdx-vtpm");
  EXPECT_EQ(c->machine, absl::StrCat("azure-vm:", azure_tdx_test::kVmId));
  EXPECT_EQ(c->attributes.at("tdx.mrtd"), azure_tdx_test::kMrTd);
  EXPECT_EQ(c->attributes.at("tdx.tcb_status"), "OutOfDate");
  EXPECT_EQ(c->attributes.at("tdx.debug"), "false");
  EXPECT_EQ(c->attributes.at("tdx.fmspc"), "00806f050000");
  EXPECT_EQ(c->attributes.at("azure.secure_boot"), "true");
  EXPECT_EQ(c->attributes.at("azure.quote_nonce"), "6368616c6c656e6765");
  EXPECT_EQ(c->attributes.count("snp.measurement"), 0u);
  EXPECT_EQ(c->pcrs.at("sha256").at(0), azure_tdx_test::kPcr0);
}

TEST_F(AzureTdxEvidenceVerifierTest, BindingIsCheckedAsUserDataThenAsQuoteNonce) {
  // The vector's runtime claims carry 64 zero bytes as user-data, its quote nonce "challenge".
  EXPECT_CHECK_FAILS(verifier_.Verify(AzureTdxEvidence(), AzureTpmKey(), "challenge"),
                     kAzCheckUserData, StatusCode::kUnauthenticated);
  EXPECT_CHECK_FAILS(verifier_.Verify(AzureTdxEvidence(), AzureTpmKey(), std::string(32, '\0')),
                     kTpmCheckQuoteNonce, StatusCode::kUnauthenticated);
}

TEST_F(AzureTdxEvidenceVerifierTest, TransferKeyMustBeCertifiedByTheHclAk) {
  EXPECT_CHECK_FAILS(verifier_.VerifyUnbound(AzureTdxEvidence(), AzureTpmKey()), "parse",
                     StatusCode::kInvalidArgument);
  v1::TransferKey spki;
  spki.set_spki_der("x");
  EXPECT_CHECK_FAILS(verifier_.Verify(AzureTdxEvidence(), spki, "challenge"), "parse",
                     StatusCode::kInvalidArgument);
}

TEST_F(AzureTdxEvidenceVerifierTest, MalformedOrMismatchedEvidenceIsRejected) {
  v1::Evidence e = AzureTdxEvidence();
  e.mutable_azure_vtpm()->clear_td_quote();
  auto s = verifier_.VerifyUnbound(e, v1::TransferKey()).status();
  EXPECT_CHECK_FAILS(s, "parse", StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("td_quote"));
  e = AzureTdxEvidence();
  e.mutable_azure_vtpm()->set_hcl_report(ReadData("az-snp-vtpm/trustee_hcl-report.bin"));
  EXPECT_CHECK_FAILS(verifier_.VerifyUnbound(e, v1::TransferKey()), "parse",
                     StatusCode::kInvalidArgument);
  e = AzureTdxEvidence();
  e.mutable_azure_vtpm()->set_kind(v1::AZURE_VTPM_KIND_SNP);
  EXPECT_CHECK_FAILS(verifier_.VerifyUnbound(e, v1::TransferKey()), kAzCheckHclParse,
                     StatusCode::kInvalidArgument);
  e = AzureTdxEvidence();
  e.mutable_azure_vtpm()->set_td_quote(ReadData(azure_tdx_test::kOldTdQuote));
  EXPECT_CHECK_FAILS(verifier_.VerifyUnbound(e, v1::TransferKey()), kAzCheckTdQuoteBinding,
                     StatusCode::kUnauthenticated);
  e = AzureTdxEvidence();
  (*e.mutable_azure_vtpm()->mutable_hcl_report())[0x0880] += 1;
  EXPECT_CHECK_FAILS(verifier_.VerifyUnbound(e, v1::TransferKey()), kAzCheckRuntimeDataDigest,
                     StatusCode::kUnauthenticated);
}

TEST(AzureTdxEvidenceVerifierConfigTest, StrictOrMissingCollateralFailsTheCollateralCheck) {
  FakeClock clock(azure_tdx_test::VerifyTime());
  AzureVtpmEvidenceVerifier strict("", Trust(/*require_crls=*/true), &clock);
  EXPECT_CHECK_FAILS(strict.VerifyUnbound(AzureTdxEvidence(), v1::TransferKey()), "collateral",
                     StatusCode::kFailedPrecondition);
  AzureVtpmEvidenceVerifier none("", &clock);
  EXPECT_CHECK_FAILS(none.VerifyUnbound(AzureTdxEvidence(), v1::TransferKey()), "collateral",
                     StatusCode::kFailedPrecondition);
}

// The operator's collateral cache is consulted for the TD quote as for plain TDX evidence: a
// cache that is down makes verification UNAVAILABLE (never a silent pass on the directory).
TEST(AzureTdxEvidenceVerifierConfigTest, CollateralCacheIsConsulted) {
  FakeClock clock(azure_tdx_test::VerifyTime());
  FakeCollateralStore store;
  AzureTdxTrust trust = Trust();
  trust.cache = &store;
  AzureVtpmEvidenceVerifier with_cache("", std::move(trust), &clock);
  EXPECT_THAT(with_cache.VerifyUnbound(AzureTdxEvidence(), v1::TransferKey()), IsOk());
  store.down = true;
  EXPECT_EQ(with_cache.VerifyUnbound(AzureTdxEvidence(), v1::TransferKey()).status().code(),
            StatusCode::kUnavailable);
}

// TDX clauses key on the tdx.* claims, so they apply to az-tdx-vtpm as to plain TDX.
TEST_F(AzureTdxEvidenceVerifierTest, TdxPolicyClausesApply) {
  auto c = verifier_.VerifyUnbound(AzureTdxEvidence(), v1::TransferKey());
  ASSERT_THAT(c, IsOk());
  v1::PolicyRule rule;
  EXPECT_EQ(CheckTeeClauses(rule, *c).code(), StatusCode::kPermissionDenied);  // OutOfDate
  rule.mutable_tdx()->add_allowed_tcb_status("OutOfDate");
  rule.mutable_tdx()->add_mrtd(azure_tdx_test::kMrTd);
  (*rule.mutable_tdx()->mutable_rtmr())[0].add_allowed(std::string(96, '0'));
  ASSERT_THAT(ValidateTeeClauses(rule, "rule"), IsOk());
  EXPECT_THAT(CheckTeeClauses(rule, *c), IsOk());
  rule.mutable_tdx()->set_mrtd(0, std::string(96, 'a'));
  auto denied = CheckTeeClauses(rule, *c);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()), HasSubstr("mrtd"));
}

}  // namespace
}  // namespace kb
