#include "keybroker/verifiers/snp/snp_evidence_verifier.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/snp/snp_claims.h"
#include "keybroker/verifiers/snp/snp_collateral_lookup.h"
#include "keybroker/verifiers/snp/snp_verifier.h"

namespace kb {
namespace {

using absl::StatusCode;

// GUIDs of the GHCB extended-report certificate table, RFC 4122 byte order.
constexpr absl::string_view kVcekGuidHex = "63da758de6644564adc5f4b93be8accd";
constexpr absl::string_view kVlekGuidHex = "a8074bc2a25a483eaae639c045a0b8a1";
constexpr size_t kEntrySize = 24;
constexpr size_t kMaxEntries = 64;

uint32_t ReadU32Le(absl::string_view b) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[0])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[3])) << 24;
}

absl::Status ParseError(absl::string_view detail) {
  return CheckFailed(kSnpCheckParse, StatusCode::kInvalidArgument, detail);
}

}  // namespace

absl::StatusOr<std::string> SnpKeyCertFromCertTable(absl::string_view table) {
  std::string vcek, vlek;
  for (size_t i = 0;; ++i) {
    if (i >= kMaxEntries || (i + 1) * kEntrySize > table.size()) {
      return ParseError("certificate table has no terminating all-zero entry");
    }
    absl::string_view entry = table.substr(i * kEntrySize, kEntrySize);
    const std::string guid = HexEncode(entry.substr(0, 16));
    const uint32_t offset = ReadU32Le(entry.substr(16, 4));
    const uint32_t length = ReadU32Le(entry.substr(20, 4));
    if (guid == std::string(32, '0')) break;
    if (offset > table.size() || length > table.size() - offset) {
      return ParseError(absl::StrCat("certificate table entry ", i, " points past the table"));
    }
    if (guid == kVcekGuidHex) vcek = std::string(table.substr(offset, length));
    if (guid == kVlekGuidHex) vlek = std::string(table.substr(offset, length));
  }
  if (!vcek.empty()) return vcek;
  if (!vlek.empty()) return vlek;
  return ParseError("certificate table holds neither a VCEK nor a VLEK");
}

absl::StatusOr<Claims> SnpEvidenceVerifier::Verify(const v1::Evidence& evidence,
                                                   const v1::TransferKey& transfer_key,
                                                   absl::string_view expected_binding) {
  return Check(evidence, transfer_key, expected_binding);
}

absl::StatusOr<Claims> SnpEvidenceVerifier::VerifyUnbound(const v1::Evidence& evidence,
                                                          const v1::TransferKey& transfer_key) {
  return Check(evidence, transfer_key, std::nullopt);
}

absl::StatusOr<std::string> SnpEvidenceVerifier::KeyCert(const v1::SnpReportEvidence& e) {
  if (!e.vcek().empty()) return e.vcek();
  if (!e.cert_table().empty()) {
    auto from_table = SnpKeyCertFromCertTable(e.cert_table());
    if (from_table.ok() || cache_ == nullptr) return from_table;
  }
  if (cache_ == nullptr) return ParseError("no VCEK/VLEK: set vcek or cert_table");
  return SnpKeyCertFromCache(*cache_, e.report(), clock_->Now());
}

absl::StatusOr<Claims> SnpEvidenceVerifier::Check(
    const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
    std::optional<absl::string_view> expected_binding) {
  if (!evidence.has_snp_report()) return ParseError("not SEV-SNP report evidence");
  if (!transfer_key.has_spki_der() &&
      (expected_binding.has_value() || transfer_key.kind_case() != v1::TransferKey::KIND_NOT_SET)) {
    return ParseError("SEV-SNP evidence needs a TEE-held transfer key (spki_der)");
  }
  const v1::SnpReportEvidence& e = evidence.snp_report();
  SnpVerifyInput in;
  in.report = e.report();
  ASSIGN_OR_RETURN(in.vcek, KeyCert(e));
  // Never the guest's chain_pem: the guest must not choose its own roots.
  in.chain_pem = amd_chain_pem_;
  in.verify_time = clock_->Now();
  if (expected_binding.has_value()) in.expected_report_data = std::string(*expected_binding);
  ASSIGN_OR_RETURN(SnpClaims snp, VerifySnpReport(in, &verified_certs_));
  return ClaimsFromSnp(snp);
}

}  // namespace kb
