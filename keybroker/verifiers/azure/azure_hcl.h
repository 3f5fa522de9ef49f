#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_HCL_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_HCL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"

namespace kb {

// Names of the Azure HCL checks, as reported in rejections.
inline constexpr absl::string_view kAzCheckHclParse = "hcl_parse";
inline constexpr absl::string_view kAzCheckRuntimeDataDigest = "runtime_data_digest";
inline constexpr absl::string_view kAzCheckVmpl = "vmpl";
inline constexpr absl::string_view kAzCheckAkFromRuntimeClaims = "ak_from_runtime_claims";
inline constexpr absl::string_view kAzCheckUserData = "user_data";

// Layout of the Azure confidential-VM "HCL report" read from vTPM NV index 0x01400001
// (Azure HwVmReport.h ATTESTATION_REPORT; kinvolk/azure-cvm-tooling az-cvm-vtpm hcl/mod.rs).
inline constexpr std::size_t kHclHwReportOffset = 0x20;
inline constexpr std::size_t kHclIgvmDataOffset = 0x4C0;
inline constexpr std::size_t kHclRuntimeDataOffset = 0x4D4;
inline constexpr std::size_t kHclMaxReportSize = 64 * 1024;
inline constexpr uint32_t kHclReportTypeSnp = 2;
inline constexpr uint32_t kHclReportTypeTdx = 4;
inline constexpr std::size_t kTdReportSize = 1024;  // TDREPORT_STRUCT

struct HclReport {
  uint32_t header_version = 0;  // 1 (older Milan), 2 (newer)
  uint32_t report_size = 0;     // header + HW report + IGVM request data
  uint32_t request_type = 0;    // 2 = AkCertRequest
  std::string hw_report;        // the 1184-byte SNP ATTESTATION_REPORT or the 1024-byte TDREPORT
  uint32_t igvm_version = 0;
  uint32_t report_type = 0;  // kHclReportTypeSnp or kHclReportTypeTdx
  uint32_t hash_type = 0;    // 1 = SHA-256
  std::string runtime_data;  // VariableData: the runtime-claims JSON
};

// Parses an HCL report holding an SNP report. INVALID_ARGUMENT naming the problem for a wrong
// signature ("HCLA"), a non-SNP report type, a hash type other than SHA-256, sizes that
// disagree with each other, or sizes past the end of `bytes`. Bytes after the runtime data
// (zero padding of the NV index) are ignored. Never reads outside `bytes`.
absl::StatusOr<HclReport> ParseHclReport(absl::string_view bytes);

// ParseHclReport() for an Azure TDX CVM: the same checks, but the report type must be TDX (4)
// and `hw_report` is the 1024-byte TDREPORT.
absl::StatusOr<HclReport> ParseTdxHclReport(absl::string_view bytes);

// Check runtime_data_digest: the HW report's REPORT_DATA[0:32] == SHA-256(runtime data) and
// REPORT_DATA[32:64] is zero. `report_data` is the 64-byte REPORT_DATA (SNP) or TDREPORT
// REPORTDATA (TDX).
absl::Status CheckRuntimeDataDigest(const HclReport& hcl, absl::string_view report_data);

// What the runtime-claims JSON says. Only meaningful after runtime_data_digest and the SNP
// report verification passed.
struct RuntimeClaims {
  EvpPkeyPtr ak;                         // HCLAkPub (RSA)
  std::string ak_spki_der;               // HCLAkPub as SubjectPublicKeyInfo DER
  std::optional<std::string> user_data;  // "user-data" hex decoded
  bool secure_boot = false;
  bool tpm_enabled = false;
  bool console_enabled = false;
  std::string vm_unique_id;
};

// Check ak_from_runtime_claims: parses the JSON and extracts the RSA AK from the "keys" entry
// with kid "HCLAkPub". UNAUTHENTICATED naming the check if the JSON is malformed or the key is
// missing or unusable.
absl::StatusOr<RuntimeClaims> ParseRuntimeClaims(absl::string_view json);

// Check user_data: the runtime claims' "user-data" equals `expected`, zero-padded to its
// length (trustee semantics: a 48-byte nonce in a 64-byte field).
absl::Status CheckUserData(const RuntimeClaims& claims, absl::string_view expected);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_HCL_H_
