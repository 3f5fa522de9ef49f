#include "keybroker/verifiers/snp/amd_certs.h"

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/snp/amd_roots.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::snp_test::ReadData;
using ::kb::snp_test::VerifyTime;

std::string Seq64() {
  std::string s;
  for (int i = 0; i < 64; ++i) s.push_back(static_cast<char>(i));
  return s;
}

AmdKeyCertInfo Info(absl::string_view file) {
  auto cert = ParseCertificate(ReadData(file));
  EXPECT_THAT(cert, IsOk());
  auto info = ParseAmdKeyCert(cert->get());
  EXPECT_THAT(info, IsOk());
  return info.ok() ? *std::move(info) : AmdKeyCertInfo{};
}

TEST(AmdRootsTest, EveryBuiltInChainParsesAndIsSelfConsistent) {
  for (SnpProduct p : {SnpProduct::kMilan, SnpProduct::kGenoa, SnpProduct::kTurin}) {
    for (SnpSigner s : {SnpSigner::kVcek, SnpSigner::kVlek}) {
      auto pem = BuiltinAmdChainPem(p, s);
      ASSERT_THAT(pem, IsOk());
      auto chain = ParseAmdChainPem(*pem);
      ASSERT_THAT(chain, IsOk());
      // The intermediate's signature by the ARK, and the ARK's own, verify.
      EXPECT_EQ(X509_verify(chain->ark.get(), X509_get0_pubkey(chain->ark.get())), 1);
      EXPECT_EQ(X509_verify(chain->intermediate.get(), X509_get0_pubkey(chain->ark.get())), 1);
    }
  }
  EXPECT_EQ(BuiltinAmdChainPem(SnpProduct::kUnknown, SnpSigner::kVcek).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(BuiltinAmdChainPem(SnpProduct::kMilan, SnpSigner::kNone).status().code(),
            StatusCode::kNotFound);
}

TEST(AmdRootsTest, ChainOrderDoesNotMatter) {
  const std::string ask = ReadData("snp/virtee_milan_ask.pem");
  const std::string ark = ReadData("snp/virtee_milan_ark.pem");
  EXPECT_THAT(ParseAmdChainPem(ask + ark), IsOk());
  EXPECT_THAT(ParseAmdChainPem(ark + ask), IsOk());
  EXPECT_FALSE(ParseAmdChainPem(ark + ark).ok());
  EXPECT_FALSE(ParseAmdChainPem(ask + ark + ask).ok());
  EXPECT_FALSE(ParseAmdChainPem("").ok());
}

TEST(AmdCertsTest, ParsesMilanVcekExtensions) {
  AmdKeyCertInfo info = Info("snp/trustee_test-vcek.der");
  EXPECT_EQ(info.kind, SnpSigner::kVcek);
  EXPECT_EQ(info.product_name, "Milan-B0");
  EXPECT_EQ(info.product, SnpProduct::kMilan);
  EXPECT_EQ(info.bl_spl, 3);
  EXPECT_EQ(info.tee_spl, 0);
  EXPECT_EQ(info.snp_spl, 8);
  EXPECT_EQ(info.ucode_spl, 115);
  EXPECT_FALSE(info.has_fmc_spl);
  EXPECT_EQ(HexEncode(info.hw_id).substr(0, 16), "c38427a30d4c7af9");
}

TEST(AmdCertsTest, ParsesLegacyRawHwId) {
  // trustee check_vcek_parsing_legacy: hwID 00 01 .. 3f raw, snpSPL 10, ucode 169.
  AmdKeyCertInfo info = Info("snp/trustee_test-vcek-invalid-legacy.der");
  EXPECT_EQ(info.hw_id, Seq64());
  EXPECT_EQ(info.snp_spl, 10);
  EXPECT_EQ(info.ucode_spl, 169);
}

TEST(AmdCertsTest, UnwrapsOctetStringHwId) {
  // trustee check_vcek_parsing_new: hwID 04 40 00 01 .. 3f, SPLs 0 except ucode 30.
  AmdKeyCertInfo info = Info("snp/trustee_test-vcek-invalid-new.der");
  EXPECT_EQ(info.hw_id, Seq64());
  EXPECT_EQ(info.bl_spl, 0);
  EXPECT_EQ(info.snp_spl, 0);
  EXPECT_EQ(info.ucode_spl, 30);
}

TEST(AmdCertsTest, ParsesVlekExtensions) {
  AmdKeyCertInfo info = Info("snp/trustee_test-vlek.der");
  EXPECT_EQ(info.kind, SnpSigner::kVlek);
  EXPECT_EQ(info.product, SnpProduct::kMilan);
  EXPECT_TRUE(info.hw_id.empty());
  EXPECT_THAT(info.csp_id, ::testing::HasSubstr("cc-us-east-2.amazonaws.com"));
  EXPECT_EQ(info.ucode_spl, 217);
}

TEST(AmdCertsTest, TurinVcekChainsToTheBuiltInTurinRoot) {
  auto cert = ParseCertificate(ReadData("snp/virtee_vcek_turin.der"));
  ASSERT_THAT(cert, IsOk());
  auto info = ParseAmdKeyCert(cert->get());
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->product, SnpProduct::kTurin);
  EXPECT_TRUE(info->has_fmc_spl);
  EXPECT_EQ(info->fmc_spl, 0);
  EXPECT_EQ(info->ucode_spl, 9);
  EXPECT_EQ(HexEncode(info->hw_id), "1e550a8ee5cf9f4d");
  auto chain = ParseAmdChainPem(*BuiltinAmdChainPem(SnpProduct::kTurin, SnpSigner::kVcek));
  ASSERT_THAT(chain, IsOk());
  EXPECT_TRUE(
      VerifyAmdChain(cert->get(), *chain, SnpProduct::kTurin, SnpSigner::kVcek, VerifyTime()).ok());
  // virtee's separate Turin ARK/ASK files are the same chain.
  auto virtee =
      ParseAmdChainPem(ReadData("snp/virtee_turin_ask.pem") + ReadData("snp/virtee_turin_ark.pem"));
  ASSERT_THAT(virtee, IsOk());
  EXPECT_TRUE(
      VerifyAmdChain(cert->get(), *virtee, SnpProduct::kTurin, SnpSigner::kVcek, VerifyTime())
          .ok());
  // Under the Milan chain it fails.
  auto milan = ParseAmdChainPem(*BuiltinAmdChainPem(SnpProduct::kMilan, SnpSigner::kVcek));
  EXPECT_FALSE(
      VerifyAmdChain(cert->get(), *milan, SnpProduct::kMilan, SnpSigner::kVcek, VerifyTime()).ok());
}

// No public Turin report exists; check the Turin TCB layout and 8-byte hwID on a synthetic one.
TEST(AmdCertsTest, TurinTcbAndHwIdChecksUseTheTurinLayout) {
  AmdKeyCertInfo info = Info("snp/virtee_vcek_turin.der");  // fmc0 bl0 tee0 snp0 ucode9
  SnpReport report;
  report.reported_tcb = 0x0900000000000000u;  // ucode in byte 7
  report.chip_id = info.hw_id + std::string(56, '\0');
  EXPECT_THAT(CheckSnpVcekTcb(report, info, SnpProduct::kTurin), IsOk());
  EXPECT_THAT(CheckSnpHwId(report, info), IsOk());
  report.reported_tcb = 0x0900000000000001u;  // fmc = 1
  EXPECT_CHECK_FAILS(CheckSnpVcekTcb(report, info, SnpProduct::kTurin), kSnpCheckVcekTcb,
                     StatusCode::kUnauthenticated);
  report.chip_id[0] ^= 1;
  EXPECT_CHECK_FAILS(CheckSnpHwId(report, info), kSnpCheckHwId, StatusCode::kUnauthenticated);
  report.mask_chip_key = true;  // a masked CHIP_ID is not compared
  EXPECT_THAT(CheckSnpHwId(report, info), IsOk());
}

TEST(AmdCertsTest, ParseCertificateRejectsGarbage) {
  EXPECT_FALSE(ParseCertificate("").ok());
  EXPECT_FALSE(ParseCertificate("\x30\x82\x05").ok());
  EXPECT_FALSE(ParseCertificate("-----BEGIN CERTIFICATE-----\n").ok());
  EXPECT_FALSE(ParseCertificate(std::string(2000, '\x30')).ok());
}

}  // namespace
}  // namespace kb
