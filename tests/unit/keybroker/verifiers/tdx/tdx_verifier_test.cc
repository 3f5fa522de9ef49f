#include "keybroker/verifiers/tdx/tdx_verifier.h"

#include <vector>

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tdx/tdx_test_util.h"

namespace kb {
namespace tdx {
namespace {

using testing::AllTdxQuotes;
using testing::At;
using testing::Collateral;
using ::testing::ElementsAre;
using testing::ExpectCheck;
using ::testing::HasSubstr;
using testing::PinnedAnchors;
using testing::ReadVector;
using testing::SerializeQuote;

constexpr char kBegin[] = "-----BEGIN CERTIFICATE-----";

TdxVerifyInput NoCollateral(absl::string_view quote, absl::Time now) {
  TdxVerifyInput in;
  in.quote = quote;
  in.now = now;
  in.options = {false, false, false};
  return in;
}

// The PEM blocks of a quote's PCK chain.
std::vector<std::string> PemBlocks(const std::string& pem) {
  std::vector<std::string> out;
  std::size_t pos = pem.find(kBegin);
  while (pos != std::string::npos) {
    std::size_t next = pem.find(kBegin, pos + 1);
    out.push_back(pem.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    pos = next;
  }
  return out;
}

TEST(TdxVerifierTest, EveryVectorQuoteVerifiesWithoutCollateral) {
  for (const std::string& f : AllTdxQuotes()) {
    std::string bytes = ReadVector(f);
    auto claims = VerifyTdxQuote(NoCollateral(bytes, At("2026-02-03T00:00:00Z")));
    ASSERT_THAT(claims, IsOk()) << f << ": " << claims.status();
    EXPECT_EQ(claims->tcb_status, TcbStatus::kNotEvaluated) << f;
    EXPECT_EQ(claims->qe_identity_status, TcbStatus::kNotEvaluated) << f;
    EXPECT_EQ(claims->mr_td.size(), 96u);
  }
}

TEST(TdxVerifierTest, ClaimsCarryTheQuoteFields) {
  std::string bytes = ReadVector("trustee_tdx_quote_4.dat");
  auto c = VerifyTdxQuote(NoCollateral(bytes, At("2026-02-03T00:00:00Z")));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quote_version, 4);
  EXPECT_TRUE(c->debug);  // trustee parse_tdx_claims_expected.json: td_attributes.debug "True"
  EXPECT_EQ(c->td_attributes, "0100001000000000");
  EXPECT_EQ(c->mr_td,
            "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d4204"
            "83a9ce5f031");
  EXPECT_EQ(c->rtmr[0].substr(0, 8), "e940da7c");
  EXPECT_EQ(c->mr_seam.substr(0, 8), "2fd279c1");
  EXPECT_EQ(c->xfam, "e742060000000000");
  EXPECT_EQ(c->fmspc, "50806f000000");
  EXPECT_EQ(c->report_data.substr(0, 16), "7c71fe2c86eff65a");
  EXPECT_EQ(c->tee_tcb_svn, "03000500000000000000000000000000");
}

TEST(TdxVerifierTest, SgxQuoteIsRejectedByTheHeaderCheck) {
  std::string bytes = ReadVector("trustee_occlum_quote.dat");
  ExpectCheck(VerifyTdxQuote(NoCollateral(bytes, At("2026-02-03T00:00:00Z"))).status(), "header",
              absl::StatusCode::kInvalidArgument);
}

TdxCollateral GoTdxCollateral() {
  return Collateral({"gotdx_tcbInfo_fmspc50806f000000.json", "gotdx_qeIdentity.json",
                     "derived_gotdx_tcbInfoIssuerChain.pem", "derived_gotdx_pckCrlIssuerChain.pem",
                     "gotdx_rootcrl.der", "gotdx_pckcrl_platform.der"});
}

// The Trustee quote against `c` in July 2023 (`bytes` holds the quote for `in`).
TdxVerifyInput TrusteeQuoteIn2023(const TdxCollateral& c, std::string& bytes) {
  bytes = ReadVector("trustee_tdx_quote_4.dat");
  TdxVerifyInput in;
  in.quote = bytes;
  in.collateral = &c;
  in.now = At("2023-07-01T00:00:00Z");
  return in;
}

TEST(TdxVerifierTest, FullPipelineWithIssuerChainsAndCrlsAt2023) {
  TdxCollateral c = GoTdxCollateral();
  std::string bytes;
  TdxVerifyInput in = TrusteeQuoteIn2023(c, bytes);
  auto claims = VerifyTdxQuote(in);
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->tcb_status, TcbStatus::kUpToDate);
  EXPECT_EQ(claims->tcb_date, "2023-02-15T00:00:00Z");
  EXPECT_EQ(claims->qe_identity_status, TcbStatus::kUpToDate);
  // The go-tdx-guest production quote has no matching TCB level in the same collateral.
  std::string spr = ReadVector("gotdx_tdx_prod_quote_SPR_E4_v4.dat");
  in.quote = spr;
  auto s = VerifyTdxQuote(in).status();
  ExpectCheck(s, "tcb_status", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("TCB_NOT_SUPPORTED"));
  // go-tdx-guest TestNegativeObtainAndVerifyCollateral: verifying in 2053.
  in.now = At("2053-07-01T00:00:00Z");
  s = VerifyTdxQuote(in).status();
  ExpectCheck(s, "collateral", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tcbInfo has expired"));
}

// A QE identity whose level for this QE says OutOfDate (crafted: every level OutOfDate; the
// signed text is unchanged, so its signature still verifies) turns the platform's UpToDate
// into OutOfDate, as Intel's QVL converges them.
TEST(TdxVerifierTest, AnOutOfDateQuotingEnclaveMakesTheTcbOutOfDate) {
  TdxCollateral c = GoTdxCollateral();
  ASSERT_TRUE(c.qe_identity.has_value());
  for (QeTcbLevel& level : c.qe_identity->levels) level.status = "OutOfDate";
  std::string bytes;
  auto claims = VerifyTdxQuote(TrusteeQuoteIn2023(c, bytes));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->qe_identity_status, TcbStatus::kOutOfDate);
  EXPECT_EQ(claims->tcb_status, TcbStatus::kOutOfDate);
  EXPECT_EQ(ConvergeTcbStatus(TcbStatus::kConfigurationNeeded, TcbStatus::kOutOfDate),
            TcbStatus::kOutOfDateConfigurationNeeded);
  EXPECT_EQ(ConvergeTcbStatus(TcbStatus::kSwHardeningNeeded, TcbStatus::kUpToDate),
            TcbStatus::kSwHardeningNeeded);
}

TEST(TdxVerifierTest, MissingCollateralIsANamedError) {
  std::string bytes = ReadVector("trustee_tdx_quote_4.dat");
  TdxVerifyInput in;
  in.quote = bytes;
  in.now = At("2023-07-01T00:00:00Z");
  ExpectCheck(VerifyTdxQuote(in).status(), "collateral", absl::StatusCode::kFailedPrecondition);
}

struct PinnedCase {
  const char* quote;
  std::vector<std::string> collateral;
  const char* at;
  TcbStatus tcb;
  TcbStatus qe;
};

TEST(TdxVerifierTest, Pinned2025And2026CollateralGivesTheManifestStatus) {
  const PinnedCase kCases[] = {
      {"trustee_tdx_quote_6.dat",
       {"trustee_tcbInfo.json", "trustee_enclaveIdentity.json"},
       "2025-11-01T00:00:00Z",
       TcbStatus::kOutOfDate,
       TcbStatus::kUpToDate},
      {"gotdx_cos-113-tdx-quote.dat",
       {"teekit_tcbInfo-tdx-00806f050000.json", "trustee_enclaveIdentity.json"},
       "2025-10-28T12:00:00Z",
       TcbStatus::kUpToDate,
       TcbStatus::kUpToDate},
      {"trustee_td-quote.bin",
       {"teekit_tcbInfo-tdx-00806f050000.json", "trustee_enclaveIdentity.json"},
       "2025-10-28T12:00:00Z",
       TcbStatus::kOutOfDate,
       TcbStatus::kUpToDate},
      {"gotdx_quote_v5_sample.dat",
       {"gotdx_tcbInfo_fmspc90c06f000000_v5.json"},
       "2026-02-03T00:00:00Z",
       TcbStatus::kUpToDate,
       TcbStatus::kNotEvaluated},
  };
  IntelTrustAnchors anchors = PinnedAnchors();
  for (const PinnedCase& pc : kCases) {
    SCOPED_TRACE(pc.quote);
    TdxCollateral c = Collateral(pc.collateral);
    std::string bytes = ReadVector(pc.quote);
    TdxVerifyInput in;
    in.quote = bytes;
    in.collateral = &c;
    in.anchors = &anchors;
    in.now = At(pc.at);
    in.options.require_crls = false;
    in.options.require_qe_identity = c.qe_identity.has_value();
    auto claims = VerifyTdxQuote(in);
    ASSERT_THAT(claims, IsOk());
    EXPECT_EQ(claims->tcb_status, pc.tcb);
    EXPECT_EQ(claims->qe_identity_status, pc.qe);
  }
}

TEST(TdxVerifierTest, AdvisoriesAndModuleStatusReachTheClaims) {
  IntelTrustAnchors anchors = PinnedAnchors();
  TdxCollateral c = Collateral({"teekit_tcbInfo-tdx-00806f050000.json"});
  std::string bytes = ReadVector("trustee_td-quote.bin");
  TdxVerifyInput in;
  in.quote = bytes;
  in.collateral = &c;
  in.anchors = &anchors;
  in.now = At("2025-10-01T00:00:00Z");
  in.options = {true, false, false};
  auto claims = VerifyTdxQuote(in);
  ASSERT_THAT(claims, IsOk());
  EXPECT_THAT(claims->advisory_ids,
              ElementsAre("INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"));
  EXPECT_EQ(claims->tdx_module_status, TcbStatus::kOutOfDate);
}

TEST(TdxVerifierTest, UnsupportedPlatformTcbIsRejected) {
  IntelTrustAnchors anchors = PinnedAnchors();
  TdxCollateral c = Collateral({"teekit_tcbInfo-tdx-90c06f000000.json"});
  std::string bytes = ReadVector("trustee_tdx_quote_5.dat");
  TdxVerifyInput in;
  in.quote = bytes;
  in.collateral = &c;
  in.anchors = &anchors;
  in.now = At("2025-10-01T00:00:00Z");
  in.options = {true, false, false};
  ExpectCheck(VerifyTdxQuote(in).status(), "tcb_status", absl::StatusCode::kUnauthenticated);
}

TEST(TdxVerifierTest, ReportDataMustMatchWhenExpected) {
  std::string bytes = ReadVector("gotdx_cos-113-tdx-quote.dat");
  TdxVerifyInput in = NoCollateral(bytes, At("2026-02-03T00:00:00Z"));
  in.expected_report_data = ReadVector("gotdx_cos-113-nonce.dat");
  EXPECT_THAT(VerifyTdxQuote(in), IsOk());
  in.expected_report_data = std::string(63, '\0') + "\x01";
  ExpectCheck(VerifyTdxQuote(in).status(), "report_data", absl::StatusCode::kUnauthenticated);
  // A prefix is enough (the broker binds 32 bytes); more than 64 bytes is malformed.
  in.expected_report_data = ReadVector("gotdx_cos-113-nonce.dat").substr(0, 32);
  EXPECT_THAT(VerifyTdxQuote(in), IsOk());
  in.expected_report_data = "short";
  ExpectCheck(VerifyTdxQuote(in).status(), "report_data", absl::StatusCode::kUnauthenticated);
  in.expected_report_data = std::string(65, '\0');
  ExpectCheck(VerifyTdxQuote(in).status(), "report_data", absl::StatusCode::kInvalidArgument);
}

// go-tdx-guest verify_test.go TestNegativeVerification, one byte each.
TEST(TdxVerifierTest, GoTdxGuestByteMutations) {
  struct Mutation {
    std::size_t offset;
    const char* check;
    absl::StatusCode code;
  };
  const Mutation kMutations[] = {
      {0x00, "header", absl::StatusCode::kInvalidArgument},  // version 3
      {0x278, "parse", absl::StatusCode::kInvalidArgument},  // signed data size
      {0x1343, "pck_chain", absl::StatusCode::kUnauthenticated},
      {0x1329, "pck_chain", absl::StatusCode::kUnauthenticated},
      {0xF5F, "pck_chain", absl::StatusCode::kUnauthenticated},
      {0xB77, "pck_chain", absl::StatusCode::kUnauthenticated},
      {0x1E, "quote_signature", absl::StatusCode::kUnauthenticated},
      {0x3C, "quote_signature", absl::StatusCode::kUnauthenticated},
  };
  const std::string good = ReadVector("gotdx_tdx_prod_quote_SPR_E4_v4.dat");
  ASSERT_THAT(VerifyTdxQuote(NoCollateral(good, At("2023-07-01T00:00:00Z"))), IsOk());
  for (const Mutation& m : kMutations) {
    SCOPED_TRACE(absl::StrCat("offset 0x", absl::Hex(m.offset)));
    std::string bad = good;
    bad[m.offset] = m.offset == 0 ? 3 : (m.offset == 0x278 ? 0x10 : 0x32);
    ExpectCheck(VerifyTdxQuote(NoCollateral(bad, At("2023-07-01T00:00:00Z"))).status(), m.check,
                m.code);
  }
}

class TeekitV5NegativeTest : public ::testing::Test {
 protected:
  void SetUp() override { quote_ = *ParseTdxQuote(ReadVector("trustee_tdx_quote_5.dat")); }
  absl::Status Verify(const TdxQuote& q, absl::Time now = At("2026-02-03T00:00:00Z")) {
    bytes_ = SerializeQuote(q);
    return VerifyTdxQuote(NoCollateral(bytes_, now)).status();
  }
  TdxQuote quote_;
  std::string bytes_;
};

TEST_F(TeekitV5NegativeTest, BaselineVerifies) { EXPECT_THAT(Verify(quote_), IsOk()); }

TEST_F(TeekitV5NegativeTest, DroppedCertificates) {
  std::vector<std::string> blocks = PemBlocks(quote_.pck_cert_data);
  ASSERT_EQ(blocks.size(), 3u);
  for (std::size_t drop = 0; drop < 3; ++drop) {
    TdxQuote q = quote_;
    q.pck_cert_data.clear();
    for (std::size_t i = 0; i < 3; ++i) {
      if (i != drop) q.pck_cert_data += blocks[i];
    }
    ExpectCheck(Verify(q), "pck_chain", absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(TeekitV5NegativeTest, TamperedCertificates) {
  std::vector<std::string> blocks = PemBlocks(quote_.pck_cert_data);
  for (std::size_t which = 0; which < 3; ++which) {
    SCOPED_TRACE(which);
    std::vector<std::string> b = blocks;
    // A base64 character inside the signature near the end of the block.
    std::size_t pos = b[which].find("-----END") - 10;
    b[which][pos] = b[which][pos] == 'A' ? 'B' : 'A';
    TdxQuote q = quote_;
    q.pck_cert_data = b[0] + b[1] + b[2];
    ExpectCheck(Verify(q), "pck_chain", absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(TeekitV5NegativeTest, QeReportSignatureTamper) {
  TdxQuote q = quote_;
  q.qe_report_signature[5] ^= 0x01;
  ExpectCheck(Verify(q), "qe_report_signature", absl::StatusCode::kUnauthenticated);
  q = quote_;
  q.qe_report.raw[0x140] ^= 0x01;  // QE REPORTDATA (covered by the PCK signature)
  ExpectCheck(Verify(q), "qe_report_signature", absl::StatusCode::kUnauthenticated);
}

TEST_F(TeekitV5NegativeTest, QeReportBindingTamper) {
  TdxQuote q = quote_;
  q.qe_auth_data[0] ^= 0x01;
  ExpectCheck(Verify(q), "qe_report_binding", absl::StatusCode::kUnauthenticated);
  q = quote_;
  q.attestation_key[10] ^= 0x01;  // another key: not the one the QE vouched for
  ExpectCheck(Verify(q), "qe_report_binding", absl::StatusCode::kUnauthenticated);
}

TEST_F(TeekitV5NegativeTest, TdSignatureTamper) {
  TdxQuote q = quote_;
  q.signature[40] ^= 0x01;
  ExpectCheck(Verify(q), "quote_signature", absl::StatusCode::kUnauthenticated);
  q = quote_;
  q.signed_region[0x36 + 0x208] ^= 0x01;  // REPORTDATA
  ExpectCheck(Verify(q), "quote_signature", absl::StatusCode::kUnauthenticated);
}

TEST_F(TeekitV5NegativeTest, CertificationDataTypeMustBe5) {
  for (uint16_t type : {1, 2, 3, 4, 6, 7}) {
    TdxQuote q = quote_;
    q.pck_cert_data_type = type;
    ExpectCheck(Verify(q), "pck_chain", absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(TeekitV5NegativeTest, TeeTypeAndVersion) {
  TdxQuote q = quote_;
  q.signed_region[4] = 0x00;  // SGX
  ExpectCheck(Verify(q), "header", absl::StatusCode::kInvalidArgument);
  for (char v : {1, 2, 3, 6, 0x7f}) {
    q = quote_;
    q.signed_region[0] = v;
    ExpectCheck(Verify(q), "header", absl::StatusCode::kInvalidArgument);
  }
  q = quote_;
  q.signed_region[2] = 3;  // ECDSA-384 attestation key type
  ExpectCheck(Verify(q), "header", absl::StatusCode::kInvalidArgument);
}

TEST_F(TeekitV5NegativeTest, VerificationDatesOutsideTheChain) {
  auto s = Verify(quote_, At("2000-01-01T00:00:00Z"));
  ExpectCheck(s, "pck_chain", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not yet valid"));
  s = Verify(quote_, At("2100-01-01T00:00:00Z"));
  ExpectCheck(s, "pck_chain", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("expired"));
}

TEST_F(TeekitV5NegativeTest, RootMustBeTheConfiguredAnchor) {
  auto other =
      IntelTrustAnchors::FromPem(ReadVector("derived_intel_sgx_tcb_signing_2018-2025.pem"));
  ASSERT_THAT(other, IsOk());
  bytes_ = SerializeQuote(quote_);
  TdxVerifyInput in = NoCollateral(bytes_, At("2026-02-03T00:00:00Z"));
  in.anchors = &*other;
  ExpectCheck(VerifyTdxQuote(in).status(), "pck_chain", absl::StatusCode::kUnauthenticated);
}

TEST(TdxVerifierTest, ExpiredPckCrlIsRejected) {
  TdxCollateral c = GoTdxCollateral();
  std::string bytes = ReadVector("trustee_tdx_quote_4.dat");
  TdxVerifyInput in;
  in.quote = bytes;
  in.collateral = &c;
  in.now = At("2023-07-10T00:00:00Z");  // tcbInfo still valid; PCK CRL expired 2023-07-08
  in.options.require_qe_identity = false;
  c.qe_identity.reset();
  auto s = VerifyTdxQuote(in).status();
  ExpectCheck(s, "collateral", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("CRL"));
}

}  // namespace
}  // namespace tdx
}  // namespace kb
