#include "keybroker/verifiers/tdx/collateral.h"

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/tdx/collateral_checks.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "keybroker/verifiers/tdx/json_span.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tdx/tdx_test_util.h"

namespace kb {
namespace tdx {
namespace {

using testing::At;
using testing::ExpectCheck;
using ::testing::HasSubstr;
using testing::PinnedAnchors;
using testing::ReadVector;

const char* const kTcbInfos[] = {"gotdx_tcbInfo_fmspc50806f000000.json",
                                 "gotdx_tcbInfo_fmspc90c06f000000_v5.json",
                                 "teekit_tcbInfo-tdx-00806f050000.json",
                                 "teekit_tcbInfo-tdx-50806f000000.json",
                                 "teekit_tcbInfo-tdx-90c06f000000.json",
                                 "teekit_tcbInfo-tdx-b0c06f000000.json",
                                 "trustee_tcbInfo.json"};
const char* const kQeIdentities[] = {"gotdx_qeIdentity.json", "trustee_enclaveIdentity.json"};

EvpPkeyPtr TcbSigningKey() {
  auto certs = ParsePemCertChain(ReadVector("derived_intel_sgx_tcb_signing_2018-2025.pem"));
  EXPECT_THAT(certs, IsOk());
  return std::move(CertPublicKey((*certs)[0].get())).value();
}

TEST(JsonSpanTest, ReturnsTheExactValueText) {
  auto span = TopLevelValueSpan(R"( {"a" : {"x": [1, 2.5e3, "s\"t"]} , "b":true} )", "a");
  ASSERT_THAT(span, IsOk());
  EXPECT_EQ(*span, R"({"x": [1, 2.5e3, "s\"t"]})");
  EXPECT_EQ(TopLevelValueSpan(R"({"a":1})", "b").status().code(), absl::StatusCode::kNotFound);
}

TEST(JsonSpanTest, RejectsMalformedDocuments) {
  for (const char* bad : {"", "[]", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":01}",
                          "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":\"\\q\"}", "{\"a\":1,\"a\":2}",
                          "{\"\\u0061\":1}", "{\"a\":[1 2]}", "{\"a\":-}", "{\"a\":1.}", "{a:1}"}) {
    EXPECT_EQ(TopLevelValueSpan(bad, "a").status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(TopLevelValueSpan("{\"a\":" + deep + "}", "a").ok());
}

TEST(CollateralTest, ParsesEveryTcbInfoAndVerifiesItsSignature) {
  EvpPkeyPtr key = TcbSigningKey();
  for (const char* f : kTcbInfos) {
    SCOPED_TRACE(f);
    std::string json = ReadVector(f);
    auto info = ParseTcbInfo(json);
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ(info->id, "TDX");
    EXPECT_EQ(info->version, 3);
    EXPECT_FALSE(info->levels.empty());
    EXPECT_NE(json.find(info->signed_text), std::string::npos);
    EXPECT_THAT(VerifyEcdsaP256RawSignature(key.get(), info->signed_text, info->signature), IsOk());
  }
  auto info = *ParseTcbInfo(ReadVector("teekit_tcbInfo-tdx-00806f050000.json"));
  EXPECT_EQ(HexEncode(info.fmspc), "00806f050000");
  EXPECT_EQ(info.tcb_evaluation_data_number, 17);
  EXPECT_EQ(info.issue_date, At("2025-09-29T18:04:58Z"));
  ASSERT_EQ(info.tdx_module_identities.size(), 2u);
  EXPECT_EQ(info.tdx_module_identities[1].id, "TDX_01");
  EXPECT_EQ(info.levels[0].tdx_components[0], 5);
  EXPECT_EQ(info.levels[0].pce_svn, 11);
}

TEST(CollateralTest, ParsesEveryQeIdentityAndVerifiesItsSignature) {
  EvpPkeyPtr key = TcbSigningKey();
  for (const char* f : kQeIdentities) {
    SCOPED_TRACE(f);
    auto qe = ParseQeIdentity(ReadVector(f));
    ASSERT_THAT(qe, IsOk());
    EXPECT_EQ(qe->id, "TD_QE");
    EXPECT_EQ(qe->isv_prod_id, 2);
    EXPECT_EQ(qe->misc_select_mask, 0xffffffffu);
    EXPECT_EQ(HexEncode(qe->mr_signer),
              "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
    EXPECT_THAT(VerifyEcdsaP256RawSignature(key.get(), qe->signed_text, qe->signature), IsOk());
  }
}

TEST(CollateralTest, OneChangedByteBreaksTheSignature) {
  EvpPkeyPtr key = TcbSigningKey();
  std::string json = ReadVector("trustee_tcbInfo.json");
  json.replace(json.find("\"tcbEvaluationDataNumber\":17"), 28, "\"tcbEvaluationDataNumber\":18");
  auto info = ParseTcbInfo(json);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(VerifyEcdsaP256RawSignature(key.get(), info->signed_text, info->signature).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CollateralTest, MalformedCollateralNamesTheField) {
  std::string json = ReadVector("trustee_tcbInfo.json");
  std::string bad = json;
  bad.replace(bad.find("\"fmspc\":\"00A06D080000\""), 22, "\"fmspc\":\"00A06D0800\"");
  EXPECT_THAT(std::string(ParseTcbInfo(bad).status().message()), HasSubstr("tcbInfo.fmspc"));
  EXPECT_THAT(std::string(ParseQeIdentity(json).status().message()), HasSubstr("enclaveIdentity"));
  EXPECT_THAT(std::string(ParseTcbInfo(ReadVector("gotdx_qeIdentity.json")).status().message()),
              HasSubstr("tcbInfo"));
  while (!json.empty() && json.back() == '\n') json.pop_back();
  for (std::size_t n = 0; n < json.size(); n += 7) {
    EXPECT_EQ(ParseTcbInfo(json.substr(0, n)).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(ParseTcbInfo("\xff\xfe garbage").ok());
  EXPECT_FALSE(ParseQeIdentity(std::string(kMaxCollateralJsonSize + 1, ' ')).ok());
}

TEST(CollateralSetTest, SortsItemsByContent) {
  auto c = SortCollateral({ReadVector("gotdx_rootcrl.der"), ReadVector("gotdx_qeIdentity.json"),
                           ReadVector("derived_gotdx_tcbInfoIssuerChain.pem"),
                           ReadVector("gotdx_tcbInfo_fmspc50806f000000.json"),
                           ReadVector("gotdx_pckcrl_platform.der")});
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->tcb_info.has_value());
  EXPECT_TRUE(c->qe_identity.has_value());
  EXPECT_EQ(c->crls.size(), 2u);
  EXPECT_EQ(c->issuer_certs.size(), 2u);
}

TEST(CollateralSetTest, RejectsUnknownAndDuplicateItems) {
  auto c = SortCollateral({"hello"});
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("collateral item 0"));
  std::string tcb = ReadVector("trustee_tcbInfo.json");
  EXPECT_THAT(std::string(SortCollateral({tcb, tcb}).status().message()),
              HasSubstr("more than one tcbInfo"));
  EXPECT_FALSE(SortCollateral({"{\"other\":1}"}).ok());
  std::string crl = ReadVector("gotdx_rootcrl.der");
  EXPECT_FALSE(SortCollateral({crl.substr(0, crl.size() - 1)}).ok());
  EXPECT_FALSE(SortCollateral({crl + "x"}).ok());
}

TEST(CollateralCheckTest, ValidAt2023WithTheIssuerChainAndCrls) {
  TdxCollateral c = testing::Collateral(
      {"gotdx_tcbInfo_fmspc50806f000000.json", "gotdx_qeIdentity.json",
       "derived_gotdx_tcbInfoIssuerChain.pem", "derived_gotdx_pckCrlIssuerChain.pem",
       "gotdx_rootcrl.der", "gotdx_pckcrl_platform.der"});
  auto anchors = *IntelTrustAnchors::Default();
  EXPECT_THAT(CheckCollateral(c, anchors, {}, At("2023-07-01T00:00:00Z"), {}), IsOk());
  // go-tdx-guest TestNegativeObtainAndVerifyCollateral: "tcbInfo has expired" in 2053.
  auto s = CheckCollateral(c, anchors, {}, At("2053-07-01T00:00:00Z"), {});
  ExpectCheck(s, "collateral", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tcbInfo has expired"));
}

TEST(CollateralCheckTest, ExpiredTcbSigningCertificateIsNotASilentPass) {
  TdxCollateral c = testing::Collateral({"trustee_tcbInfo.json", "trustee_enclaveIdentity.json",
                                         "derived_gotdx_tcbInfoIssuerChain.pem"});
  auto anchors = *IntelTrustAnchors::Default();
  CollateralRequirements no_crls{true, true, false};
  auto s = CheckCollateral(c, anchors, {}, At("2025-11-01T00:00:00Z"), no_crls);
  ExpectCheck(s, "collateral", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("certificate has expired"));
  // With the same key pinned by the operator, the 2025 collateral verifies.
  EXPECT_THAT(CheckCollateral(c, PinnedAnchors(), {}, At("2025-11-01T00:00:00Z"), no_crls), IsOk());
}

TEST(CollateralCheckTest, MissingAndStaleItemsAreNamed) {
  auto anchors = PinnedAnchors();
  TdxCollateral empty;
  ExpectCheck(CheckCollateral(empty, anchors, {}, At("2025-11-01T00:00:00Z"), {}), "collateral",
              absl::StatusCode::kFailedPrecondition);
  TdxCollateral c = testing::Collateral({"trustee_tcbInfo.json", "trustee_enclaveIdentity.json"});
  ExpectCheck(CheckCollateral(c, anchors, {}, At("2025-11-01T00:00:00Z"), {}), "collateral",
              absl::StatusCode::kFailedPrecondition);  // CRLs required by default
  TdxCollateral with_crls = testing::Collateral(
      {"trustee_tcbInfo.json", "trustee_enclaveIdentity.json", "gotdx_rootcrl.der"});
  auto s = CheckCollateral(with_crls, anchors, {}, At("2025-11-01T00:00:00Z"), {});
  ExpectCheck(s, "collateral", absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("CRL has expired"));
  s = CheckCollateral(c, anchors, {}, At("2000-01-01T00:00:00Z"), {true, true, false});
  EXPECT_THAT(std::string(s.message()), HasSubstr("not yet valid"));
  TdxCollateral no_signer = testing::Collateral({"trustee_tcbInfo.json"});
  ExpectCheck(CheckCollateral(no_signer, *IntelTrustAnchors::Default(), {},
                              At("2025-11-01T00:00:00Z"), {true, false, false}),
              "collateral", absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tdx
}  // namespace kb
