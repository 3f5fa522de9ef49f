#include "keybroker/verifiers/tdx/tdx_quote.h"

#include <openssl/core_names.h>

#include "common/crypto.h"
#include "common/ec_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tdx/tdx_test_util.h"

namespace kb {
namespace tdx {
namespace {

using testing::AllTdxQuotes;
using ::testing::HasSubstr;
using testing::ReadVector;
using testing::SerializeQuote;

struct Expected {
  const char* file;
  uint16_t version;
  std::size_t parsed_size;
  const char* tee_tcb_svn;
  const char* td_attributes;
  bool debug;
  const char* mr_td;
  const char* report_data_prefix;
  uint16_t qe_isv_svn;
};

// Values from MANIFEST.md ("observed fields" and the source tests it cites).
const Expected kExpected[] = {
    {"gotdx_cos-113-tdx-quote.dat", 4, 4935, "04010700000000000000000000000000", "0000001000000000",
     false,
     "dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f"
     "94a",
     "0000000000000000", 6},
    {"gotdx_quote_v5_sample.dat", 5, 5006, "0b010400000000000000000000000000", "0000001000000000",
     false,
     "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f"
     "876",
     "945eaacf5abc1f71", 7},
    {"gotdx_tdx_prod_quote_SPR_E4_v4.dat", 4, 4935, "03000400000000000000000000000000",
     "0000004000000000", false,
     "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215"
     "cbb",
     "6c62dec1b8191749", 4},
    {"trustee_tdx_quote_4.dat", 4, 4936, "03000500000000000000000000000000", "0100001000000000",
     true,
     "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f"
     "031",
     "7c71fe2c86eff65a", 4},
    {"trustee_tdx_quote_5.dat", 5, 5006, "05010200000000000000000000000000", "0000001000000000",
     false,
     "dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f38864"
     "00a",
     "6d6ab13b046cff60", 6},
    {"trustee_tdx_quote_6.dat", 4, 4936, "05030200000000000000000000000000", "0000001000000000",
     false,
     "21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1"
     "e88",
     "26cae1c77185617f", 7},
    {"trustee_td-quote.bin", 4, 4936, "02010600000000000000000000000000", "0000000000000000", false,
     "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7a"
     "b7b",
     "9734504f161d104c", 5},
    {"trustee_old2024_td-quote.bin", 4, 4936, "02010600000000000000000000000000",
     "0000000000000000", false,
     "75f3acc2e1dfc3acf404d7eaa69a2eefcd0475a0dd6516ef5ba3cb83399c61b4aa1c638e3622bb650a514bfc6e858"
     "886",
     "8ea6825991d303fb", 5},
};

TEST(TdxQuoteTest, ParsesEveryVectorQuoteWithManifestValues) {
  ASSERT_EQ(std::size(kExpected), AllTdxQuotes().size());
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(e.file);
    auto q = ParseTdxQuote(ReadVector(e.file));
    ASSERT_THAT(q, IsOk());
    EXPECT_EQ(q->header.version, e.version);
    EXPECT_EQ(q->header.tee_type, kTeeTypeTdx);
    EXPECT_EQ(q->header.att_key_type, kAttKeyTypeEcdsaP256);
    EXPECT_EQ(HexEncode(q->header.qe_vendor_id), "939a7233f79c4ca9940a0db3957f0607");
    EXPECT_EQ(q->parsed_size, e.parsed_size);
    EXPECT_EQ(HexEncode(q->body.tee_tcb_svn), e.tee_tcb_svn);
    EXPECT_EQ(HexEncode(q->body.td_attributes), e.td_attributes);
    EXPECT_EQ(TdAttributesDebug(q->body.td_attributes), e.debug);
    EXPECT_EQ(HexEncode(q->body.mr_td), e.mr_td);
    EXPECT_EQ(HexEncode(q->body.report_data).substr(0, 16), e.report_data_prefix);
    EXPECT_EQ(q->qe_report.isv_svn, e.qe_isv_svn);
    EXPECT_EQ(q->body.td15, e.version == 5);  // both v5 samples carry TD 1.5 bodies
    EXPECT_EQ(q->signed_region.size(), e.version == 5 ? 0x2BEu : 0x278u);
    EXPECT_EQ(q->certification_data_type, kCertDataQeReport);
    EXPECT_EQ(q->pck_cert_data_type, kCertDataPckChain);
    EXPECT_EQ(q->qe_auth_data.size(), 32u);
    EXPECT_EQ(HexEncode(q->qe_report.mr_signer),
              "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  }
}

TEST(TdxQuoteTest, TdxV5SampleHasTd15Fields) {
  auto q = ParseTdxQuote(ReadVector("trustee_tdx_quote_5.dat"));
  ASSERT_THAT(q, IsOk());
  EXPECT_EQ(q->body_type, kBodyTypeTd15);
  EXPECT_EQ(HexEncode(q->body.mr_service_td).substr(0, 8), "383c87d3");
  EXPECT_EQ(q->body.tee_tcb_svn2.size(), 16u);
}

TEST(TdxQuoteTest, ReserializingReproducesTheQuote) {
  for (const std::string& f : AllTdxQuotes()) {
    std::string bytes = ReadVector(f);
    auto q = ParseTdxQuote(bytes);
    ASSERT_THAT(q, IsOk()) << f << q.status();
    EXPECT_EQ(SerializeQuote(*q), bytes.substr(0, q->parsed_size)) << f;
  }
}

TEST(TdxQuoteTest, EveryTruncationIsInvalidArgument) {
  for (const std::string& f : AllTdxQuotes()) {
    std::string bytes = ReadVector(f);
    auto q = ParseTdxQuote(bytes);
    ASSERT_THAT(q, IsOk());
    for (std::size_t n = 0; n < q->parsed_size; ++n) {
      auto t = ParseTdxQuote(absl::string_view(bytes).substr(0, n));
      ASSERT_FALSE(t.ok()) << f << " truncated to " << n;
      ASSERT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << t.status();
    }
  }
}

TEST(TdxQuoteTest, TruncationNamesTheField) {
  std::string bytes = ReadVector("trustee_tdx_quote_4.dat");
  auto t = ParseTdxQuote(bytes.substr(0, 0xD0));
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("body.mr_td"));
  t = ParseTdxQuote(bytes.substr(0, 20));
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("header.qe_vendor_id"));
  EXPECT_FALSE(ParseTdxQuoteHeader(bytes.substr(0, 47)).ok());
}

TEST(TdxQuoteTest, OversizedInputIsRejected) {
  std::string bytes = ReadVector("trustee_tdx_quote_4.dat");
  bytes.resize(kMaxQuoteSize + 1, '\0');
  auto q = ParseTdxQuote(bytes);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(q.status().message()), HasSubstr("exceeds the maximum"));
}

TEST(TdxQuoteTest, LengthFieldsLargerThanTheBufferAreRejected) {
  std::string bytes = ReadVector("trustee_tdx_quote_4.dat");
  std::string big = bytes;
  big[0x278] = '\xff';  // signature_data.size
  big[0x27b] = '\x7f';
  EXPECT_THAT(std::string(ParseTdxQuote(big).status().message()), HasSubstr("signature_data"));
  auto q = *ParseTdxQuote(bytes);
  q.pck_cert_data_type = 5;
  std::string s = SerializeQuote(q);
  // pck_cert_data.size at the end of the fixed part: make it claim 16 MiB.
  std::size_t size_off = s.size() - q.pck_cert_data.size() - 4;
  s[size_off + 3] = '\x01';
  EXPECT_THAT(std::string(ParseTdxQuote(s).status().message()), HasSubstr("pck_cert_data"));
}

TEST(TdxQuoteTest, GoTdxSignedDataSizeMutationIsAParseError) {
  std::string bytes = ReadVector("gotdx_tdx_prod_quote_SPR_E4_v4.dat");
  bytes[0x278] = 0x10;
  EXPECT_EQ(ParseTdxQuote(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TdxQuoteTest, UnsupportedVersionsAndBodiesAreRejected) {
  std::string v3 = ReadVector("trustee_occlum_quote.dat");  // SGX quote v3
  EXPECT_THAT(std::string(ParseTdxQuote(v3).status().message()), HasSubstr("header.version"));
  std::string v5 = ReadVector("gotdx_quote_v5_sample.dat");
  std::string sgx_body = v5;
  sgx_body[0x30] = 1;  // body type SGX
  EXPECT_THAT(std::string(ParseTdxQuote(sgx_body).status().message()),
              HasSubstr("body_descriptor.type"));
  std::string bad_size = v5;
  bad_size[0x32] = 0x49;  // 584 + 1
  EXPECT_THAT(std::string(ParseTdxQuote(bad_size).status().message()),
              HasSubstr("body_descriptor.size"));
  std::string sgx_v4 = ReadVector("trustee_tdx_quote_4.dat");
  sgx_v4[4] = 0;  // TEE type SGX
  EXPECT_THAT(std::string(ParseTdxQuote(sgx_v4).status().message()), HasSubstr("tee_type"));
}

TEST(TdxQuoteTest, OuterCertificationDataMustBeType6) {
  auto q = *ParseTdxQuote(ReadVector("trustee_tdx_quote_4.dat"));
  q.certification_data_type = 5;
  EXPECT_THAT(std::string(ParseTdxQuote(SerializeQuote(q)).status().message()),
              HasSubstr("certification_data.type"));
}

TEST(TdxQuoteTest, TrailingBytesInsideSignatureDataAreRejected) {
  auto q = *ParseTdxQuote(ReadVector("trustee_tdx_quote_4.dat"));
  std::string s = SerializeQuote(q);
  // Grow signature_data.size by one and append a byte: one unparsed byte inside the region.
  s[0x278] = static_cast<char>(static_cast<uint8_t>(s[0x278]) + 1);
  s.push_back('x');
  EXPECT_THAT(std::string(ParseTdxQuote(s).status().message()), HasSubstr("unparsed"));
}

TEST(TdxQuoteTest, GarbageIsRejectedWithoutCrashing) {
  EXPECT_FALSE(ParseTdxQuote("").ok());
  EXPECT_FALSE(ParseTdxQuote(std::string(48, '\0')).ok());
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 6000; ++i) {
    x = x * 1103515245u + 12345u;
    noise.push_back(static_cast<char>(x >> 16));
  }
  for (uint16_t v : {4, 5}) {
    std::string n = noise;
    n[0] = static_cast<char>(v);
    n[1] = 0;
    EXPECT_EQ(ParseTdxQuote(n).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// The quote's attestation key is X || Y: the key whose point that is, or INVALID_ARGUMENT.
TEST(TdxQuoteTest, AttestationKeyFromRawXy) {
  auto pair = GenerateP256Key();
  ASSERT_THAT(pair, IsOk());
  std::string point(65, '\0');
  size_t len = 0;
  ASSERT_EQ(
      EVP_PKEY_get_octet_string_param(pair->get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<uint8_t*>(point.data()), point.size(), &len),
      1);
  const std::string xy = point.substr(1);
  auto key = P256KeyFromRawXy(xy);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(pair->get(), key->get()), 1);
  std::string off = xy;
  off.back() ^= 1;
  EXPECT_THAT(P256KeyFromRawXy(off), StatusIs(absl::StatusCode::kInvalidArgument,
                                              ::testing::HasSubstr("not a P-256 point")));
  EXPECT_THAT(P256KeyFromRawXy(xy.substr(1)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(P256KeyFromRawXy(xy + "0"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tdx
}  // namespace kb
