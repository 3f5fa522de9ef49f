#include "keybroker/verifiers/snp/snp_verifier.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_evidence.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::absl::StatusCode;
using ::kb::snp_test::Input;
using ::kb::snp_test::ReadData;
using ::kb::snp_test::TrusteeMilan;
using ::kb::snp_test::TrusteeVlek;
using ::kb::snp_test::Utc;
using ::kb::snp_test::VerifyTime;

// ---- Every SNP vector that MANIFEST lists as VALID ----

TEST(SnpVerifierTest, GenoaE2eReportVerifies) {
  auto c = VerifySnpReport(
      Input("snp/derived_trustee_e2e_genoa_report.bin", "snp/derived_trustee_e2e_genoa_vcek.der"));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->product, SnpProduct::kGenoa);
  EXPECT_EQ(c->product_name, "Genoa");
  EXPECT_EQ(c->signer, "vcek");
  EXPECT_EQ(c->version, 3u);
  EXPECT_EQ(c->vmpl, 0u);
  EXPECT_EQ(c->policy.raw, 0x30000u);
  EXPECT_FALSE(c->policy.debug);
  EXPECT_TRUE(c->policy.smt);
  EXPECT_EQ(c->platform_info, 0x25u);
  EXPECT_EQ(c->measurement,
            "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4"
            "ae62a36d75c837974dd50b315506e73e");
  EXPECT_EQ(c->report_data,
            "7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf9"
            "29eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0");
  EXPECT_EQ(c->chip_id,
            "371c55d6d15cb50f16dc31d39a24e300caaabff4431e841111429b73ec45ad67"
            "ea6e687ffae7bf84b54a5d0e6d79b3ef6ff0bd8b4cff94c2163af5c5de8718e8");
  EXPECT_EQ(c->reported_tcb.bootloader, 10);
  EXPECT_EQ(c->reported_tcb.tee, 0);
  EXPECT_EQ(c->reported_tcb.snp, 23);
  EXPECT_EQ(c->reported_tcb.microcode, 25);
  EXPECT_EQ(c->reported_tcb.raw, 0x191700000000000au);
  EXPECT_EQ(c->current_firmware, "1.55.40");
  EXPECT_EQ(c->cpuid_family, 0x19);
  EXPECT_EQ(c->cpuid_model, 0xA0);
  EXPECT_EQ(c->cpuid_stepping, 2);
  EXPECT_EQ(c->host_data, std::string(64, '0'));
}

// trustee_e2e_snp_evidence.json is the container the derived Genoa report and VCEK came from.
TEST(SnpVerifierTest, GenoaE2eJsonContainerMatchesTheVerifiedClaims) {
  const google::protobuf::Struct root =
      snp_test::ParseJson(ReadData("snp/trustee_e2e_snp_evidence.json"));
  const auto& chain = root.fields().at("cert_chain").list_value().values();
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(snp_test::IntArrayBytes(chain[0].struct_value().fields().at("data")),
            ReadData("snp/derived_trustee_e2e_genoa_vcek.der"));
  const auto& r = root.fields().at("attestation_report").struct_value().fields();
  auto c = VerifySnpReport(
      Input("snp/derived_trustee_e2e_genoa_report.bin", "snp/derived_trustee_e2e_genoa_vcek.der"));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->measurement, HexEncode(snp_test::IntArrayBytes(r.at("measurement"))));
  EXPECT_EQ(c->report_data, HexEncode(snp_test::IntArrayBytes(r.at("report_data"))));
  EXPECT_EQ(c->chip_id, HexEncode(snp_test::IntArrayBytes(r.at("chip_id"))));
  EXPECT_EQ(c->report_id, HexEncode(snp_test::IntArrayBytes(r.at("report_id"))));
  EXPECT_EQ(c->policy.raw, static_cast<uint64_t>(r.at("policy").number_value()));
  EXPECT_EQ(c->platform_info, static_cast<uint64_t>(r.at("plat_info").number_value()));
  const auto& tcb = r.at("reported_tcb").struct_value().fields();
  EXPECT_EQ(c->reported_tcb.snp, tcb.at("snp").number_value());
  EXPECT_EQ(c->reported_tcb.microcode, tcb.at("microcode").number_value());
  const auto& sig = r.at("signature").struct_value().fields();
  const std::string report = ReadData("snp/derived_trustee_e2e_genoa_report.bin");
  EXPECT_EQ(report.substr(0x2A0, 72), snp_test::IntArrayBytes(sig.at("r")));
  EXPECT_EQ(report.substr(0x2E8, 72), snp_test::IntArrayBytes(sig.at("s")));
}

TEST(SnpVerifierTest, VirteeMilanReportVerifies) {
  auto c =
      VerifySnpReport(Input("snp/derived_virtee_report_milan.bin", "snp/virtee_vcek_milan.der"));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->product, SnpProduct::kMilan);
  EXPECT_EQ(c->version, 2u);
  EXPECT_EQ(c->policy.raw, 0x30000u);
  EXPECT_EQ(c->measurement,
            "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"
            "3e1a0dc39b2c60bd95b9c480cd81841f");
  EXPECT_EQ(c->report_data,
            "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581"
            "0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd");
  EXPECT_EQ(c->chip_id,
            "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc"
            "15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6");
  EXPECT_EQ(c->reported_tcb.bootloader, 3);
  EXPECT_EQ(c->reported_tcb.snp, 8);
  EXPECT_EQ(c->reported_tcb.microcode, 115);
}

TEST(SnpVerifierTest, VirteeMilanHexReportIsTheSameReport) {
  auto decoded = HexDecode(absl::StripAsciiWhitespace(ReadData("snp/virtee_report_milan.hex")));
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, ReadData("snp/derived_virtee_report_milan.bin"));
  SnpVerifyInput in = Input("snp/derived_virtee_report_milan.bin", "snp/virtee_vcek_milan.der");
  in.report = *decoded;
  EXPECT_THAT(VerifySnpReport(in), IsOk());
}

TEST(SnpVerifierTest, VirteeMilanVerifiesUnderTheVirteeChainAsOverride) {
  SnpVerifyInput in = Input("snp/derived_virtee_report_milan.bin", "snp/virtee_vcek_milan.der");
  in.chain_pem = ReadData("snp/virtee_milan_ask.pem") + ReadData("snp/virtee_milan_ark.pem");
  auto c = VerifySnpReport(in);
  EXPECT_THAT(c, IsOk());
}

TEST(SnpVerifierTest, GoSevMilanReportVerifies) {
  SnpVerifyInput in = Input("snp/gosev_attestation_milan.bin", "snp/gosev_vcek_milan.der");
  in.expected_report_data = std::string("\x01\x02\x03\x04\x05", 5);
  auto c = VerifySnpReport(in);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->version, 2u);
  EXPECT_EQ(c->report_data, absl::StrCat("0102030405", std::string(118, '0')));
  EXPECT_EQ(c->report_id, "8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a");
  EXPECT_EQ(c->report_id_ma, std::string(64, 'f'));
  EXPECT_EQ(c->measurement,
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
            "6bdf8a9ece31a5a608eb0cf2e4872b01");
  EXPECT_EQ(c->chip_id,
            "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e5378618"
            "4ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d");
  EXPECT_EQ(c->reported_tcb.raw, 4901323769462652930u);  // minimum_tcb in check_test.go
  EXPECT_EQ(c->reported_tcb.bootloader, 2);
  EXPECT_EQ(c->reported_tcb.snp, 5);
  EXPECT_EQ(c->reported_tcb.microcode, 68);
  EXPECT_EQ(c->policy.raw, 0xB0000u);
  EXPECT_TRUE(c->policy.debug);  // must fail a "no debug guest" policy (appraisal, not here)
  EXPECT_TRUE(c->policy.smt);
  EXPECT_EQ(c->vmpl, 0u);
  EXPECT_EQ(c->platform_info, 1u);
  EXPECT_EQ(c->current_firmware, "1.49.3");
  EXPECT_EQ(c->family_id, std::string(32, '0'));
  EXPECT_EQ(c->image_id, std::string(32, '0'));
  EXPECT_EQ(c->id_key_digest, std::string(96, '0'));  // no ID block: require_idblock fails
  EXPECT_EQ(c->author_key_digest, std::string(96, '0'));
}

TEST(SnpVerifierTest, TrusteeMilanReportVerifies) {
  auto c = VerifySnpReport(TrusteeMilan());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->policy.raw, 0x3001fu);
  EXPECT_FALSE(c->policy.debug);
  EXPECT_EQ(c->guest_svn, 4u);
  EXPECT_EQ(c->measurement,
            "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"
            "23500644e0e692e6be917f9050d3d38c");
  EXPECT_EQ(c->reported_tcb.bootloader, 3);
  EXPECT_EQ(c->reported_tcb.tee, 0);
  EXPECT_EQ(c->reported_tcb.snp, 8);
  EXPECT_EQ(c->reported_tcb.microcode, 115);
}

TEST(SnpVerifierTest, TrusteeMilanVerifiesWithThePemVcek) {
  SnpVerifyInput in = TrusteeMilan();
  in.vcek = ReadData("az-snp-vtpm/trustee_old2024_vcek.pem");
  EXPECT_THAT(VerifySnpReport(in), IsOk());
}

TEST(SnpVerifierTest, VlekReportVerifiesInsideTheVlekValidity) {
  auto c = VerifySnpReport(TrusteeVlek());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->signer, "vlek");
  EXPECT_EQ(c->version, 3u);
  EXPECT_EQ(c->vmpl, 1u);
  EXPECT_EQ(c->platform_info, 0x27u);
  EXPECT_EQ(c->chip_id, std::string(128, '0'));
  EXPECT_EQ(c->measurement,
            "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4"
            "e8c9af857f5ceeb5a493df2a570d7bf0");
  EXPECT_EQ(c->report_data,
            "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd5"
            "4e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca");
  EXPECT_EQ(c->reported_tcb.bootloader, 4);
  EXPECT_EQ(c->reported_tcb.snp, 24);
  EXPECT_EQ(c->reported_tcb.microcode, 217);
}

// ---- MANIFEST negative cases ----

TEST(SnpVerifierTest, TrusteeReportByte42IsABadSignature) {
  SnpVerifyInput in = TrusteeMilan();
  in.report[42] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckReportSignature, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, TrusteeReportByte384IsATcbMismatch) {
  SnpVerifyInput in = TrusteeMilan();
  in.report[384] += 1;  // REPORTED_TCB.BOOT_LOADER
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckVcekTcb, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, VlekReportByte42IsABadSignature) {
  SnpVerifyInput in = TrusteeVlek();
  in.report[42] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckReportSignature, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, VlekReportByte384IsATcbMismatch) {
  SnpVerifyInput in = TrusteeVlek();
  in.report[384] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckVcekTcb, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, TrusteeVcekByte42BreaksTheChain) {
  SnpVerifyInput in = TrusteeMilan();
  in.vcek[42] += 1;
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, MilanAsvkInsteadOfAskBreaksTheChain) {
  SnpVerifyInput in = TrusteeMilan();
  in.chain_pem = std::string(*BuiltinAmdChainPem(SnpProduct::kMilan, SnpSigner::kVlek));
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, VirteeReportByte21IsABadSignature) {
  SnpVerifyInput in = Input("snp/derived_virtee_report_milan.bin", "snp/virtee_vcek_milan.der");
  in.report[21] ^= 0x80;
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckReportSignature, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, VirteeVcekByte40BreaksTheChain) {
  SnpVerifyInput in = Input("snp/derived_virtee_report_milan.bin", "snp/virtee_vcek_milan.der");
  in.vcek[40] ^= 0xff;
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, HandEditedVceksFailTheChain) {
  for (const char* vcek :
       {"snp/trustee_test-vcek-invalid-legacy.der", "snp/trustee_test-vcek-invalid-new.der"}) {
    EXPECT_CHECK_FAILS(VerifySnpReport(Input("snp/trustee_test-report.bin", vcek)),
                       kSnpCheckCertChain, StatusCode::kUnauthenticated);
  }
}

TEST(SnpVerifierTest, GoSevWrongReportDataFailsTheBinding) {
  SnpVerifyInput in = Input("snp/gosev_attestation_milan.bin", "snp/gosev_vcek_milan.der");
  in.expected_report_data = std::string("\x01\x02\x03\x04\x05", 5) + std::string(58, '\0') + "\x01";
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckReportData, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, VlekHasExpired) {
  SnpVerifyInput in = TrusteeVlek();
  in.verify_time = Utc(2026, 1, 1);
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, GenoaVcekIsNotYetValid) {
  SnpVerifyInput in =
      Input("snp/derived_trustee_e2e_genoa_report.bin", "snp/derived_trustee_e2e_genoa_vcek.der");
  in.verify_time = Utc(2025, 1, 1);
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

// ---- Further cross-vector negatives ----

TEST(SnpVerifierTest, AnotherChipsVcekFailsTheHwId) {
  // Same Milan TCB (bl3 snp8 ucode115), different chip.
  EXPECT_CHECK_FAILS(
      VerifySnpReport(Input("snp/trustee_test-report.bin", "snp/virtee_vcek_milan.der")),
      kSnpCheckHwId, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, VlekCertificateForAVcekReportFailsTheSignerKind) {
  EXPECT_CHECK_FAILS(
      VerifySnpReport(Input("snp/trustee_test-report.bin", "snp/trustee_test-vlek.der")),
      kSnpCheckSignerKind, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, GenoaVcekForAMilanCpuidReportFailsTheChain) {
  EXPECT_CHECK_FAILS(VerifySnpReport(Input("snp/trustee_test-vlek-report.bin",
                                           "snp/derived_trustee_e2e_genoa_vcek.der")),
                     kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, WrongProductChainOverrideFailsTheChain) {
  SnpVerifyInput in = TrusteeMilan();
  in.chain_pem = std::string(*BuiltinAmdChainPem(SnpProduct::kGenoa, SnpSigner::kVcek));
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckCertChain, StatusCode::kUnauthenticated);
}

TEST(SnpVerifierTest, MalformedInputsAreParseErrors) {
  SnpVerifyInput in = TrusteeMilan();
  in.report.resize(1000);
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.vcek = "garbage";
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.vcek.resize(in.vcek.size() - 10);
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.vcek += "x";
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.chain_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.chain_pem = ReadData("snp/virtee_milan_ark.pem");  // one certificate only
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.expected_report_data = std::string(65, '\0');
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
  in = TrusteeMilan();
  in.vcek = ReadData("snp/virtee_milan_ask.pem");  // an ASK is not a VCEK
  EXPECT_CHECK_FAILS(VerifySnpReport(in), kSnpCheckParse, StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
