#ifndef KB_KEYBROKER_VERIFIERS_TDX_TDX_QUOTE_H_
#define KB_KEYBROKER_VERIFIERS_TDX_TDX_QUOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {
namespace tdx {

// Intel TDX DCAP quote v4/v5 (ECDSA-256-with-P-256), as laid out in Intel's "TDX DCAP Quote
// Generation Library and Quote Verification Library" appendix A. All multi-byte integers are
// little-endian; signatures and keys are big-endian r||s and X||Y. Byte fields are raw strings.

inline constexpr uint16_t kQuoteVersion4 = 4;
inline constexpr uint16_t kQuoteVersion5 = 5;
inline constexpr uint16_t kAttKeyTypeEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeTdx = 0x81;
inline constexpr uint16_t kBodyTypeTd10 = 2;
inline constexpr uint16_t kBodyTypeTd15 = 3;
inline constexpr uint16_t kCertDataQeReport = 6;
inline constexpr uint16_t kCertDataPckChain = 5;
inline constexpr std::size_t kQuoteHeaderSize = 48;
inline constexpr std::size_t kTd10BodySize = 584;
inline constexpr std::size_t kTd15BodySize = 648;
inline constexpr std::size_t kSgxReportBodySize = 384;
// Real quotes are a few KiB; anything larger than this is refused before parsing.
inline constexpr std::size_t kMaxQuoteSize = 64 * 1024;

struct TdxQuoteHeader {
  uint16_t version = 0;
  uint16_t att_key_type = 0;
  uint32_t tee_type = 0;
  std::string qe_vendor_id;  // 16
  std::string user_data;     // 20
};

// TD 1.0 report body, plus the TD 1.5 extension when `td15` is set.
struct TdReportBody {
  std::string tee_tcb_svn;          // 16
  std::string mr_seam;              // 48
  std::string mr_signer_seam;       // 48
  std::string seam_attributes;      // 8
  std::string td_attributes;        // 8
  std::string xfam;                 // 8
  std::string mr_td;                // 48
  std::string mr_config_id;         // 48
  std::string mr_owner;             // 48
  std::string mr_owner_config;      // 48
  std::array<std::string, 4> rtmr;  // 48 each
  std::string report_data;          // 64
  bool td15 = false;
  std::string tee_tcb_svn2;   // 16, TD 1.5 only
  std::string mr_service_td;  // 48, TD 1.5 only
};

// SGX REPORT_BODY (the TD quoting enclave's report).
struct SgxReportBody {
  std::string raw;      // all 384 bytes, as signed by the PCK key
  std::string cpu_svn;  // 16
  uint32_t misc_select = 0;
  std::string attributes;  // 16
  std::string mr_enclave;  // 32
  std::string mr_signer;   // 32
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  std::string report_data;  // 64
};

struct TdxQuote {
  TdxQuoteHeader header;
  uint16_t body_type = kBodyTypeTd10;  // v4 is always TD 1.0
  TdReportBody body;
  std::string signed_region;             // header (+ v5 body descriptor) + body
  std::string signature;                 // 64, r||s over SHA-256(signed_region)
  std::string attestation_key;           // 64, X||Y (P-256)
  uint16_t certification_data_type = 0;  // outer; always 6 once parsed
  SgxReportBody qe_report;
  std::string qe_report_signature;  // 64, r||s by the PCK key over qe_report.raw
  std::string qe_auth_data;
  uint16_t pck_cert_data_type = 0;  // inner; 5 = PCK cert chain (PEM)
  std::string pck_cert_data;        // PEM chain when type 5
  std::size_t parsed_size = 0;      // bytes used; the rest of the input is padding
};

// Parses the 48-byte header only. INVALID_ARGUMENT if fewer than 48 bytes.
absl::StatusOr<TdxQuoteHeader> ParseTdxQuoteHeader(absl::string_view bytes);

// Parses a whole TDX quote (v4, or v5 with a TD 1.0/1.5 body). Every length field is checked
// against the buffer: INVALID_ARGUMENT naming the field for a truncated or inconsistent quote,
// an unsupported version/TEE type/body type/certification data type 6, or input larger than
// kMaxQuoteSize. Bytes after the signature data (zero padding) are ignored. No signature is
// checked here.
absl::StatusOr<TdxQuote> ParseTdxQuote(absl::string_view bytes);

// TDATTRIBUTES bit 0: the TD runs in debug mode (its memory is readable by the host).
bool TdAttributesDebug(absl::string_view td_attributes);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_TDX_QUOTE_H_
