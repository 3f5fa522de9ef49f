#include "keybroker/verifiers/snp/snp_report.h"

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb {
namespace {

using ::kb::snp_test::ReadData;
using ::testing::HasSubstr;

TEST(SnpReportTest, ParsesMilanV2) {
  auto r = ParseSnpReport(ReadData("snp/trustee_test-report.bin"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->guest_svn, 4u);
  EXPECT_EQ(r->policy, 0x3001fu);
  EXPECT_EQ(r->vmpl, 0u);
  EXPECT_EQ(r->signing_key, 0u);
  EXPECT_EQ(r->platform_info, 1u);
  EXPECT_EQ(r->reported_tcb, 0x7308000000000003u);
  EXPECT_EQ(r->cpuid_family, 0);  // v2 has no CPUID fields
  EXPECT_EQ(HexEncode(r->measurement),
            "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"
            "23500644e0e692e6be917f9050d3d38c");
  EXPECT_EQ(HexEncode(r->id_key_digest),
            "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca49"
            "1ecdd7f336dc28a6e0b2bb57af7a44a3");
  EXPECT_EQ(HexEncode(r->chip_id).substr(0, 16), "c38427a30d4c7af9");
  EXPECT_EQ(r->signed_bytes.size(), kSnpSignedSize);
  EXPECT_EQ(r->signature_r.size(), 72u);
  EXPECT_EQ(r->signature_s.size(), 72u);
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 52);
  EXPECT_EQ(r->current_build, 4);
}

TEST(SnpReportTest, ParsesGenoaV3WithCpuid) {
  auto r = ParseSnpReport(ReadData("snp/derived_trustee_e2e_genoa_report.bin"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->cpuid_family, 0x19);
  EXPECT_EQ(r->cpuid_model, 0xA0);
  EXPECT_EQ(r->cpuid_stepping, 2);
  EXPECT_EQ(r->platform_info, 0x25u);
  EXPECT_EQ(SnpProductFromCpuid(r->cpuid_family, r->cpuid_model), SnpProduct::kGenoa);
  EXPECT_EQ(r->reported_tcb, 0x191700000000000au);
}

TEST(SnpReportTest, ParsesVlekSignedV3) {
  auto r = ParseSnpReport(ReadData("snp/trustee_test-vlek-report.bin"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->signing_key, 1u);
  EXPECT_EQ(r->vmpl, 1u);
  EXPECT_EQ(r->chip_id, std::string(64, '\0'));
  EXPECT_EQ(SnpProductFromCpuid(r->cpuid_family, r->cpuid_model), SnpProduct::kMilan);
}

TEST(SnpReportTest, AcceptsVersion5AndReadsMitigationVectors) {
  std::string bytes = ReadData("snp/derived_trustee_e2e_genoa_report.bin");
  bytes[0] = 5;
  bytes[0x1F8] = 0x11;
  bytes[0x200] = 0x22;
  auto r = ParseSnpReport(bytes);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->launch_mit_vector, 0x11u);
  EXPECT_EQ(r->current_mit_vector, 0x22u);
}

TEST(SnpReportTest, RejectsTruncatedOversizedAndEmpty) {
  const std::string good = ReadData("snp/trustee_test-report.bin");
  auto truncated = ParseSnpReport(absl::string_view(good).substr(0, good.size() - 1));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("truncated"));
  auto oversized = ParseSnpReport(good + "x");
  EXPECT_EQ(oversized.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(oversized.status().message()), HasSubstr("oversized"));
  EXPECT_EQ(ParseSnpReport("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSnpReport(absl::string_view(good).substr(0, 0x2A0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnpReportTest, RejectsUnknownVersionsAndAlgorithms) {
  std::string bytes = ReadData("snp/trustee_test-report.bin");
  for (uint8_t v : {0, 1, 4, 6, 0xff}) {
    std::string b = bytes;
    b[0] = static_cast<char>(v);
    auto r = ParseSnpReport(b);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << int{v};
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("version"));
  }
  std::string algo = bytes;
  algo[0x34] = 2;
  EXPECT_THAT(std::string(ParseSnpReport(algo).status().message()), HasSubstr("algorithm"));
  std::string signer = bytes;
  signer[0x48] = 7 << 2;  // SIGNING_KEY = none
  EXPECT_THAT(std::string(ParseSnpReport(signer).status().message()), HasSubstr("SIGNING_KEY"));
}

TEST(SnpReportTest, GarbageIsRejected) {
  EXPECT_FALSE(ParseSnpReport(std::string(kSnpReportSize, '\xff')).ok());
  EXPECT_FALSE(ParseSnpReport("not a report").ok());
}

TEST(SnpReportTest, DecodesTcbPerProduct) {
  // go-sev-guest check_test.go: minimum_tcb 0x4405000000000002 = bl 2, tee 0, snp 5, ucode 68.
  SnpTcb milan = DecodeSnpTcb(0x4405000000000002u, SnpProduct::kMilan);
  EXPECT_EQ(milan.bootloader, 2);
  EXPECT_EQ(milan.tee, 0);
  EXPECT_EQ(milan.snp, 5);
  EXPECT_EQ(milan.microcode, 68);
  // Turin: fmc, bl, tee, snp, -, -, -, ucode.
  SnpTcb turin = DecodeSnpTcb(0x0900000004030201u, SnpProduct::kTurin);
  EXPECT_EQ(turin.fmc, 1);
  EXPECT_EQ(turin.bootloader, 2);
  EXPECT_EQ(turin.tee, 3);
  EXPECT_EQ(turin.snp, 4);
  EXPECT_EQ(turin.microcode, 9);
}

TEST(SnpReportTest, DecodesPolicyBits) {
  SnpGuestPolicy debug = DecodeSnpGuestPolicy(0xB0000);  // go-sev-guest {Debug, SMT}
  EXPECT_TRUE(debug.debug);
  EXPECT_TRUE(debug.smt);
  EXPECT_FALSE(debug.migrate_ma);
  SnpGuestPolicy azure = DecodeSnpGuestPolicy(0x3001f);
  EXPECT_FALSE(azure.debug);
  EXPECT_TRUE(azure.smt);
  EXPECT_EQ(azure.abi_minor, 0x1f);
  EXPECT_EQ(azure.abi_major, 0);
  EXPECT_TRUE(DecodeSnpGuestPolicy(1u << 18).migrate_ma);
  EXPECT_TRUE(DecodeSnpGuestPolicy(1u << 20).single_socket);
}

TEST(SnpReportTest, ProductNames) {
  EXPECT_EQ(SnpProductFromName("Milan-B0"), SnpProduct::kMilan);
  EXPECT_EQ(SnpProductFromName("Milan"), SnpProduct::kMilan);
  EXPECT_EQ(SnpProductFromName("Genoa"), SnpProduct::kGenoa);
  EXPECT_EQ(SnpProductFromName("Turin"), SnpProduct::kTurin);
  EXPECT_EQ(SnpProductFromName("Milano"), SnpProduct::kUnknown);
  EXPECT_EQ(SnpProductFromCpuid(0x19, 0x01), SnpProduct::kMilan);
  EXPECT_EQ(SnpProductFromCpuid(0x19, 0x11), SnpProduct::kGenoa);
  EXPECT_EQ(SnpProductFromCpuid(0x1A, 0x02), SnpProduct::kTurin);
  EXPECT_EQ(SnpProductFromCpuid(0, 0), SnpProduct::kUnknown);
}

}  // namespace
}  // namespace kb
