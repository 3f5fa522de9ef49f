#ifndef KB_TESTS_UNIT_KEYBROKER_VERIFIERS_AZURE_AZURE_TDX_EVIDENCE_H_
#define KB_TESTS_UNIT_KEYBROKER_VERIFIERS_AZURE_AZURE_TDX_EVIDENCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_evidence.h"
#include "tests/unit/keybroker/verifiers/snp/snp_test_util.h"

namespace kb::azure_tdx_test {

using ::kb::snp_test::ReadData;

// The az-tdx-vtpm vectors (tests/data/az-tdx-vtpm, TD quotes in tests/data/tdx).
inline constexpr char kHcl[] = "az-tdx-vtpm/trustee_hcl-report.bin";
inline constexpr char kTdQuote[] = "tdx/trustee_td-quote.bin";
inline constexpr char kOldHcl[] = "az-tdx-vtpm/trustee_old2024_hcl-report.bin";
inline constexpr char kOldTdQuote[] = "tdx/trustee_old2024_td-quote.bin";
inline constexpr char kMrTd[] =
    "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7"
    "ab7b";
inline constexpr char kPcr0[] = "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273";
inline constexpr char kVmId[] = "6332533D-5649-4D02-8AA7-8F64B7C3EE21";

// Inside the 2025 tcbInfo's window (teekit_tcbInfo-tdx-00806f050000.json), as the TDX tests.
inline absl::Time VerifyTime() {
  absl::Time t;
  std::string err;
  absl::ParseTime(absl::RFC3339_full, "2025-10-28T12:00:00Z", &t, &err);
  return t;
}

// The collateral files for FMSPC 00806f050000 (no CRLs valid in 2025 were published).
inline std::vector<std::string> CollateralItems() {
  return {ReadData("tdx/teekit_tcbInfo-tdx-00806f050000.json"),
          ReadData("tdx/trustee_enclaveIdentity.json")};
}

// The embedded root with the (expired, same-key) Intel SGX TCB Signing certificate pinned.
inline tdx::IntelTrustAnchors PinnedAnchors() {
  auto a =
      tdx::IntelTrustAnchors::FromPem(tdx::EmbeddedIntelSgxRootCaPem(),
                                      ReadData("tdx/derived_intel_sgx_tcb_signing_2018-2025.pem"));
  EXPECT_THAT(a, IsOk());
  return std::move(a).value();
}

// trustee's az-tdx-vtpm evidence JSON: v0 carries int arrays, v1 base64url and hex.
struct TdxEvidence {
  std::string hcl_report;
  std::string td_quote;
  TpmQuote quote;
};

inline TdxEvidence ParseTrusteeTdxEvidence(const std::string& json) {
  const google::protobuf::Struct root = snp_test::ParseJson(json);
  const auto& f = root.fields();
  TdxEvidence ev;
  ev.hcl_report = snp_test::BytesField(f.at("hcl_report"), true);
  ev.td_quote = snp_test::BytesField(f.at("td_quote"), true);
  ev.quote = snp_test::QuoteFromStruct(f.at("tpm_quote").struct_value());
  return ev;
}

}  // namespace kb::azure_tdx_test

#endif  // KB_TESTS_UNIT_KEYBROKER_VERIFIERS_AZURE_AZURE_TDX_EVIDENCE_H_
