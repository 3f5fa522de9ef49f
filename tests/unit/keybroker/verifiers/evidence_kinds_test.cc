// The one table of evidence kinds (keybroker/verifiers/evidence_kinds.h): a row per evidence
// type, one broker verifier per kind case, and the offline path (keybrokerctl
// verify-evidence) agreeing with the broker's dry run on the same real evidence.
#include "keybroker/verifiers/evidence_kinds.h"

#include <string>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/api/evidence_types.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::kb::snp_test::At;
using ::kb::snp_test::ReadData;

TEST(EvidenceKindsTest, OneRowPerEvidenceTypeInOrder) {
  ASSERT_EQ(EvidenceKinds().size(), kEvidenceTypes.size());
  for (size_t i = 0; i < kEvidenceTypes.size(); ++i) {
    const EvidenceKind& row = EvidenceKinds()[i];
    EXPECT_EQ(row.type, kEvidenceTypes[i]);
    EXPECT_EQ(FindEvidenceKind(row.type), &row);
    EXPECT_FALSE(row.required.empty()) << row.type;
    EXPECT_NE(row.make_verifier, nullptr);
    EXPECT_NE(row.verify_offline, nullptr);
    EXPECT_NE(row.to_proto, nullptr);
  }
  EXPECT_EQ(FindEvidenceKind("sgx"), nullptr);
  EXPECT_FALSE(IsEvidenceType("sgx"));
  EXPECT_EQ(EvidenceTypeList(), "tpm, snp, tdx, az-snp-vtpm, az-tdx-vtpm");
}

TEST(EvidenceKindsTest, AddVerifiersServesEveryKindCase) {
  VerifierTrust trust;
  FakeClock clock;
  VerifierSet set;
  ASSERT_THAT(AddVerifiers({.trust = &trust, .clock = &clock}, set), IsOk());
  for (const EvidenceKind& row : EvidenceKinds()) EXPECT_TRUE(set.Has(row.kind)) << row.type;
  EXPECT_CHECK_FAILS(set.VerifyUnbound(v1::Evidence(), v1::TransferKey()), "parse",
                     absl::StatusCode::kInvalidArgument);
}

TEST(EvidenceKindsTest, BadIntelRootsFailToBuildTheTdxVerifiers) {
  VerifierTrust trust;
  trust.intel_roots_pem = "not PEM";
  FakeClock clock;
  VerifierSet set;
  EXPECT_THAT(AddVerifiers({.trust = &trust, .clock = &clock}, set),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// verify_offline on the files and the broker's dry run on to_proto of the same files.
struct BothPaths {
  absl::StatusOr<Claims> offline;
  absl::StatusOr<Claims> broker;
};

BothPaths VerifyBothWays(absl::string_view type, const OfflineEvidence& files, absl::Time at) {
  const EvidenceKind* row = FindEvidenceKind(type);
  EXPECT_NE(row, nullptr);
  VerifierTrust trust;
  FakeClock clock(at);
  VerifierSet set;
  EXPECT_THAT(AddVerifiers({.trust = &trust, .clock = &clock}, set), IsOk());
  BothPaths out{row->verify_offline(files, trust, {at, std::nullopt, std::nullopt}),
                absl::UnknownError("no evidence")};
  auto proto = row->to_proto(files);
  EXPECT_THAT(proto, IsOk());
  if (proto.ok()) out.broker = set.VerifyUnbound(*proto, v1::TransferKey());
  return out;
}

TEST(EvidenceKindsTest, SnpOfflineAndBrokerGiveTheSameClaims) {
  OfflineEvidence files;
  files.report = ReadData("snp/trustee_test-report.bin");
  files.vcek = ReadData("snp/trustee_test-vcek.der");
  BothPaths r = VerifyBothWays(kEvidenceSnp, files, At("2025-06-01T00:00:00Z"));
  ASSERT_THAT(r.offline, IsOk());
  ASSERT_THAT(r.broker, IsOk());
  EXPECT_EQ(ClaimsToJson(*r.offline), ClaimsToJson(*r.broker));

  files.report[42] ^= 1;  // a signed field: both paths name the same check
  r = VerifyBothWays(kEvidenceSnp, files, At("2025-06-01T00:00:00Z"));
  EXPECT_CHECK_FAILS(r.offline, "report_signature", absl::StatusCode::kUnauthenticated);
  EXPECT_CHECK_FAILS(r.broker, "report_signature", absl::StatusCode::kUnauthenticated);
}

TEST(EvidenceKindsTest, AzureSnpOfflineAndBrokerGiveTheSameClaims) {
  OfflineEvidence files;
  files.report = ReadData("az-snp-vtpm/trustee_old2024_hcl-report.bin");
  files.vcek = ReadData("az-snp-vtpm/trustee_old2024_vcek.pem");
  files.quote = TpmQuote{ReadData("az-snp-vtpm/trustee_tpm-quote.msg"),
                         ReadData("az-snp-vtpm/trustee_tpm-quote.sig"),
                         TpmSignatureEncoding::kRawRsassaSha256,
                         {}};
  BothPaths r = VerifyBothWays(kEvidenceAzureSnp, files, At("2025-06-01T00:00:00Z"));
  ASSERT_THAT(r.offline, IsOk());
  ASSERT_THAT(r.broker, IsOk());
  EXPECT_EQ(r.offline->evidence_type, "az-snp-vtpm");
  EXPECT_EQ(ClaimsToJson(*r.offline), ClaimsToJson(*r.broker));
}

TEST(EvidenceKindsTest, TpmEvidenceNeedsATpmtPublicAk) {
  OfflineEvidence files;
  files.quote = TpmQuote{};
  EXPECT_THAT(FindEvidenceKind(kEvidenceTpm)->to_proto(files),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("not PEM")));
}

}  // namespace
}  // namespace kb
