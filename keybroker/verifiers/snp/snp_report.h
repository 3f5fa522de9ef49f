#ifndef KB_KEYBROKER_VERIFIERS_SNP_SNP_REPORT_H_
#define KB_KEYBROKER_VERIFIERS_SNP_SNP_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// AMD SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP Firmware ABI spec #56860, "ATTESTATION_REPORT
// Structure"), versions 2 (Milan/Genoa), 3 (adds CPUID family/model/stepping) and 5 (adds the
// mitigation vectors). Always 1184 bytes; the signature covers bytes [0, 0x2A0).
inline constexpr std::size_t kSnpReportSize = 0x4A0;
inline constexpr std::size_t kSnpSignedSize = 0x2A0;
inline constexpr std::size_t kSnpSignatureComponentSize = 72;  // R and S, little-endian

// The CPU generation a report or certificate belongs to. It picks the AMD root and the
// TCB_VERSION byte layout.
enum class SnpProduct { kUnknown, kMilan, kGenoa, kTurin };

// "Milan", "Genoa", "Turin" or "unknown".
absl::string_view SnpProductName(SnpProduct product);

// The product for a VCEK/VLEK productName extension ("Milan-B0", "Genoa", "Turin"); kUnknown
// if not recognised.
SnpProduct SnpProductFromName(absl::string_view name);

// The product for CPUID family/model (report v3+); kUnknown if the fields are zero (v2) or not
// recognised.
SnpProduct SnpProductFromCpuid(uint8_t family, uint8_t model);

// Which key signed the report (SIGNING_KEY field).
enum class SnpSigner { kVcek = 0, kVlek = 1, kNone = 7 };

// A decoded TCB_VERSION. Milan/Genoa: bl, tee, -, -, -, -, snp, ucode. Turin: fmc, bl, tee,
// snp, -, -, -, ucode.
struct SnpTcb {
  uint64_t raw = 0;
  uint8_t fmc = 0;  // Turin only
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
};

// Decodes `raw` (the little-endian u64 as stored) with the layout of `product`.
SnpTcb DecodeSnpTcb(uint64_t raw, SnpProduct product);

// The guest POLICY field decoded (go-sev-guest abi.go policy*Bit).
struct SnpGuestPolicy {
  uint64_t raw = 0;
  uint8_t abi_minor = 0;
  uint8_t abi_major = 0;
  bool smt = false;                // bit 16
  bool migrate_ma = false;         // bit 18
  bool debug = false;              // bit 19
  bool single_socket = false;      // bit 20
  bool cxl_allow = false;          // bit 21
  bool mem_aes_256_xts = false;    // bit 22
  bool rapl_dis = false;           // bit 23
  bool ciphertext_hiding = false;  // bit 24
  bool page_swap_disable = false;  // bit 25
};

SnpGuestPolicy DecodeSnpGuestPolicy(uint64_t raw);

// A parsed report. Byte strings are raw (not hex). Nothing here is authenticated until
// VerifySnpReport() says so.
struct SnpReport {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  uint64_t policy = 0;
  std::string family_id;  // 16
  std::string image_id;   // 16
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;  // 1 = ECDSA P-384 with SHA-384
  uint64_t current_tcb = 0;
  uint64_t platform_info = 0;
  bool author_key_en = false;
  bool mask_chip_key = false;
  uint32_t signing_key = 0;       // 0 VCEK, 1 VLEK, 7 none
  std::string report_data;        // 64
  std::string measurement;        // 48
  std::string host_data;          // 32
  std::string id_key_digest;      // 48
  std::string author_key_digest;  // 48
  std::string report_id;          // 32
  std::string report_id_ma;       // 32
  uint64_t reported_tcb = 0;
  uint8_t cpuid_family = 0;    // v3+
  uint8_t cpuid_model = 0;     // v3+
  uint8_t cpuid_stepping = 0;  // v3+
  std::string chip_id;         // 64
  uint64_t committed_tcb = 0;
  uint8_t current_build = 0, current_minor = 0, current_major = 0;
  uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  uint64_t launch_tcb = 0;
  uint64_t launch_mit_vector = 0;   // v5
  uint64_t current_mit_vector = 0;  // v5
  std::string signature_r;          // 72, little-endian
  std::string signature_s;          // 72, little-endian
  std::string signed_bytes;         // bytes [0, 0x2A0)
};

// Parses a raw report. INVALID_ARGUMENT naming the problem if `bytes` is not exactly 1184
// bytes, the version is not 2, 3 or 5, or the signature algorithm is not ECDSA P-384/SHA-384.
// Never reads outside `bytes`.
absl::StatusOr<SnpReport> ParseSnpReport(absl::string_view bytes);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_SNP_REPORT_H_
