#ifndef KB_KEYBROKER_VERIFIERS_SNP_SNP_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_SNP_SNP_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/verifiers/snp/amd_certs.h"
#include "keybroker/verifiers/snp/snp_key_cert_cache.h"
#include "keybroker/verifiers/snp/snp_report.h"

namespace kb {

// Names of the SEV-SNP checks, as reported in rejections ("evidence check '<name>' failed").
inline constexpr absl::string_view kSnpCheckParse = "parse";
inline constexpr absl::string_view kSnpCheckCertChain = "cert_chain";
inline constexpr absl::string_view kSnpCheckSignerKind = "signer_kind";
inline constexpr absl::string_view kSnpCheckVcekTcb = "vcek_tcb";
inline constexpr absl::string_view kSnpCheckHwId = "hwid";
inline constexpr absl::string_view kSnpCheckReportSignature = "report_signature";
inline constexpr absl::string_view kSnpCheckReportData = "report_data";

struct SnpVerifyInput {
  std::string report;      // raw 1184-byte ATTESTATION_REPORT
  std::string vcek;        // VCEK or VLEK certificate, DER or PEM (first PEM cert is used)
  std::string chain_pem;   // optional operator chain (ASK/ASVK + ARK, PEM); empty = built-in
  absl::Time verify_time;  // certificate validity is checked at this time
  // When set, REPORT_DATA[0:size] must equal it (at most 64 bytes).
  std::optional<std::string> expected_report_data;
};

// What a verified SEV-SNP report says. Digests and ids are lowercase hex.
struct SnpClaims {
  uint32_t version = 0;
  SnpProduct product = SnpProduct::kUnknown;
  std::string product_name;  // "Milan", "Genoa", "Turin"
  std::string signer;        // "vcek" or "vlek"
  SnpGuestPolicy policy;
  uint32_t vmpl = 0;
  uint32_t guest_svn = 0;
  std::string measurement;
  std::string host_data;
  std::string id_key_digest;
  std::string author_key_digest;
  std::string family_id;
  std::string image_id;
  std::string report_id;
  std::string report_id_ma;
  std::string chip_id;
  std::string report_data;
  uint64_t platform_info = 0;
  SnpTcb current_tcb;
  SnpTcb reported_tcb;
  SnpTcb committed_tcb;
  SnpTcb launch_tcb;
  std::string current_firmware;  // "major.minor.build", e.g. "1.55.40"
  uint8_t cpuid_family = 0, cpuid_model = 0, cpuid_stepping = 0;  // v3+
};

// Verifies an SEV-SNP report and its VCEK/VLEK offline, through the checks parse,
// cert_chain, signer_kind, vcek_tcb, hwid, report_signature and report_data (in that order).
// INVALID_ARGUMENT for malformed input (check "parse"), UNAUTHENTICATED when a check fails;
// the message always names the check. With a `cache`, a certificate whose chain verified there
// before (same bytes, same chain_pem, inside the chain's validity) passes cert_chain without
// verifying it again, and one that verifies now is added; every other check runs each time.
absl::StatusOr<SnpClaims> VerifySnpReport(const SnpVerifyInput& input,
                                          SnpKeyCertCache* cache = nullptr);

// The individual checks, exposed so that each can be tested alone. They return the named
// CheckFailed status.
absl::Status CheckSnpSignerKind(const SnpReport& report, const AmdKeyCertInfo& cert);
absl::Status CheckSnpVcekTcb(const SnpReport& report, const AmdKeyCertInfo& cert,
                             SnpProduct product);
absl::Status CheckSnpHwId(const SnpReport& report, const AmdKeyCertInfo& cert);
absl::Status CheckSnpReportSignature(const SnpReport& report, X509* vcek);
absl::Status CheckSnpReportData(const SnpReport& report, absl::string_view expected);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_SNP_VERIFIER_H_
