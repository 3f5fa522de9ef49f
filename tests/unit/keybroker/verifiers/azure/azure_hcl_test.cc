#include "keybroker/verifiers/azure/azure_hcl.h"

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/azure/azure_quote.h"
#include "keybroker/verifiers/snp/snp_report.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::snp_test::ReadData;
using ::testing::HasSubstr;

std::string Hcl() { return ReadData("az-snp-vtpm/trustee_hcl-report.bin"); }

void PutLe32(std::string& b, std::size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>(v >> (8 * i));
}

TEST(HclReportTest, ParsesTheCurrentReport) {
  auto h = ParseHclReport(Hcl());
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->header_version, 1u);
  EXPECT_EQ(h->report_size, 2346u);
  EXPECT_EQ(h->request_type, 2u);
  EXPECT_EQ(h->report_type, 2u);
  EXPECT_EQ(h->hash_type, 1u);
  EXPECT_EQ(h->hw_report.size(), kSnpReportSize);
  EXPECT_EQ(h->runtime_data.size(), 1110u);
  EXPECT_THAT(h->runtime_data, HasSubstr("\"HCLAkPub\""));
}

TEST(HclReportTest, ParsesTheOld2048ByteReportWhoseSnpReportIsTheTrusteeReport) {
  auto h = ParseHclReport(ReadData("az-snp-vtpm/trustee_old2024_hcl-report.bin"));
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->runtime_data.size(), 583u);
  EXPECT_EQ(h->hw_report, ReadData("snp/trustee_test-report.bin"));
}

TEST(HclReportTest, RuntimeDataIsBoundToReportData) {
  for (const char* f :
       {"az-snp-vtpm/trustee_hcl-report.bin", "az-snp-vtpm/trustee_old2024_hcl-report.bin"}) {
    auto h = ParseHclReport(ReadData(f));
    ASSERT_THAT(h, IsOk());
    auto r = ParseSnpReport(h->hw_report);
    ASSERT_THAT(r, IsOk());
    EXPECT_THAT(CheckRuntimeDataDigest(*h, r->report_data), IsOk()) << f;
  }
}

TEST(HclReportTest, Byte0x06e0BreaksTheRuntimeDataDigest) {
  std::string b = Hcl();
  b[0x06e0] += 1;
  auto h = ParseHclReport(b);
  ASSERT_THAT(h, IsOk());
  auto r = ParseSnpReport(h->hw_report);
  EXPECT_CHECK_FAILS(CheckRuntimeDataDigest(*h, r->report_data), kAzCheckRuntimeDataDigest,
                     StatusCode::kUnauthenticated);
}

TEST(HclReportTest, NonZeroUpperReportDataBreaksTheDigestCheck) {
  auto h = ParseHclReport(Hcl());
  std::string report_data = Sha256(h->runtime_data) + std::string(32, '\0');
  EXPECT_THAT(CheckRuntimeDataDigest(*h, report_data), IsOk());
  report_data[63] = 1;
  EXPECT_CHECK_FAILS(CheckRuntimeDataDigest(*h, report_data), kAzCheckRuntimeDataDigest,
                     StatusCode::kUnauthenticated);
}

TEST(HclReportTest, Byte0x0540BreaksTheAkExtraction) {
  std::string b = Hcl();
  b[0x0540] = 0;
  auto h = ParseHclReport(b);
  ASSERT_THAT(h, IsOk());
  EXPECT_CHECK_FAILS(ParseRuntimeClaims(h->runtime_data), kAzCheckAkFromRuntimeClaims,
                     StatusCode::kUnauthenticated);
}

TEST(HclReportTest, ExtractsTheAkAndRuntimeClaims) {
  auto h = ParseHclReport(Hcl());
  auto rc = ParseRuntimeClaims(h->runtime_data);
  ASSERT_THAT(rc, IsOk());
  EXPECT_EQ(EVP_PKEY_get_base_id(rc->ak.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(rc->ak.get()), 2048);
  EXPECT_FALSE(rc->ak_spki_der.empty());
  ASSERT_TRUE(rc->user_data.has_value());
  EXPECT_EQ(*rc->user_data, std::string(64, '\0'));
  EXPECT_TRUE(rc->secure_boot);
  EXPECT_TRUE(rc->tpm_enabled);
  EXPECT_TRUE(rc->console_enabled);
  EXPECT_EQ(rc->vm_unique_id, "911B0EF8-9DBA-48B0-B275-4E4DF2D39252");
}

TEST(HclReportTest, RuntimeClaimsWithoutAnAkAreRejected) {
  for (const char* json :
       {"", "not json", "[]", "{}", R"({"keys":[]})", R"({"keys":[{"kid":"HCLEkPub"}]})",
        R"({"keys":[{"kid":"HCLAkPub","kty":"EC"}]})",
        R"({"keys":[{"kid":"HCLAkPub","kty":"RSA","n":"!!","e":"AQAB"}]})",
        R"({"keys":[{"kid":"HCLAkPub","kty":"RSA","n":"AQAB","e":"AQAB"}]})"}) {
    EXPECT_CHECK_FAILS(ParseRuntimeClaims(json), kAzCheckAkFromRuntimeClaims,
                       StatusCode::kUnauthenticated);
  }
}

TEST(HclReportTest, UserDataCheck) {
  auto h = ParseHclReport(Hcl());
  auto rc = ParseRuntimeClaims(h->runtime_data);
  ASSERT_THAT(rc, IsOk());
  EXPECT_THAT(CheckUserData(*rc, std::string(64, '\0')), IsOk());
  EXPECT_THAT(CheckUserData(*rc, ""), IsOk());  // zero-padded to 64 bytes
  EXPECT_CHECK_FAILS(CheckUserData(*rc, "\x12\x3a\xbc"), kAzCheckUserData,
                     StatusCode::kUnauthenticated);
  auto old = ParseHclReport(ReadData("az-snp-vtpm/trustee_old2024_hcl-report.bin"));
  auto old_rc = ParseRuntimeClaims(old->runtime_data);
  ASSERT_THAT(old_rc, IsOk());
  EXPECT_FALSE(old_rc->user_data.has_value());
  EXPECT_CHECK_FAILS(CheckUserData(*old_rc, ""), kAzCheckUserData, StatusCode::kUnauthenticated);
}

TEST(HclReportTest, RejectsTruncatedOversizedAndGarbage) {
  const std::string good = Hcl();
  EXPECT_EQ(ParseHclReport("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHclReport(good.substr(0, 0x4D3)).status().code(), StatusCode::kInvalidArgument);
  // Cut inside the runtime data.
  auto cut = ParseHclReport(good.substr(0, 0x4D4 + 100));
  EXPECT_EQ(cut.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(cut.status().message()), HasSubstr("truncated"));
  EXPECT_EQ(ParseHclReport(good + std::string(kHclMaxReportSize, '\0')).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHclReport(std::string(2600, '\xff')).status().code(),
            StatusCode::kInvalidArgument);
  // The NV index is zero-padded: trailing zeros after the runtime data are fine.
  EXPECT_THAT(ParseHclReport(good.substr(0, 0x4D4 + 1110)), IsOk());
}

TEST(HclReportTest, RejectsBadHeaderFields) {
  struct Case {
    std::size_t off;
    uint32_t value;
    const char* why;
  };
  for (const Case& c :
       {Case{0x00, 0x41434c48, "HCLA"}, Case{0x4C8, 4, "not SNP"}, Case{0x4CC, 2, "SHA-256"},
        Case{0x4D0, 0xFFFFFFFF, "truncated"}, Case{0x4D0, 1000, "inconsistent"},
        Case{0x4C0, 1, "inconsistent"}, Case{0x008, 1, "inconsistent"}}) {
    std::string b = Hcl();
    PutLe32(b, c.off, c.value);
    auto h = ParseHclReport(b);
    EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument) << c.why;
    EXPECT_THAT(std::string(h.status().message()), HasSubstr(c.why));
  }
}

TEST(BincodeQuoteTest, ParsesTheTrusteeQuote) {
  auto q = ParseAzureBincodeQuote(ReadData("az-snp-vtpm/trustee_quote.bin"));
  ASSERT_THAT(q, IsOk());
  EXPECT_EQ(q->signature.size(), 256u);
  EXPECT_EQ(q->attest.size(), 122u);
  EXPECT_EQ(q->pcrs_sha256.size(), 24u);
}

TEST(BincodeQuoteTest, RejectsTruncatedOversizedAndTrailing) {
  const std::string good = ReadData("az-snp-vtpm/trustee_quote.bin");
  for (std::size_t n : {0ul, 7ul, 8ul, 200ul, 264ul, 400ul, good.size() - 1}) {
    EXPECT_EQ(ParseAzureBincodeQuote(good.substr(0, n)).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
  EXPECT_EQ(ParseAzureBincodeQuote(good + "x").status().code(), StatusCode::kInvalidArgument);
  std::string huge = good;
  huge[7] = 0x7f;  // signature length 2^62
  EXPECT_EQ(ParseAzureBincodeQuote(huge).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAzureBincodeQuote(std::string(64, '\xff')).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
