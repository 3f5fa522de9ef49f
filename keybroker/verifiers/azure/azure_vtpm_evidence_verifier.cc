#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/azure/azure_claims.h"
#include "keybroker/verifiers/azure/azure_snp_verifier.h"
#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"
#include "keybroker/verifiers/tpm/tpm_certification.h"

namespace kb {
namespace {

using absl::StatusCode;

absl::Status ParseError(absl::string_view detail) {
  return CheckFailed("parse", StatusCode::kInvalidArgument, detail);
}

// IGVM_REQUEST_DATA.ReportType of an HCL report (0 if too short to say); hcl_parse checks the
// rest.
uint32_t HclReportType(absl::string_view hcl) {
  constexpr std::size_t kOffset = 0x4C8;
  if (hcl.size() < kOffset + 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<uint8_t>(hcl[kOffset + i])) << (8 * i);
  }
  return v;
}

}  // namespace

absl::StatusOr<TpmQuote> AzureQuoteFromProto(const v1::TpmQuoteEvidence& q) {
  TpmQuote out;
  out.attest = q.attest();
  out.signature = q.signature();
  out.encoding = ParseTpmtSignature(q.signature(), "quote signature").ok()
                     ? TpmSignatureEncoding::kTpmtSignature
                     : TpmSignatureEncoding::kRawRsassaSha256;
  for (const v1::PcrValue& v : q.pcrs()) {
    if (v.bank() != "sha256" || v.index() > 23) {
      return ParseError("Azure vTPM PCR values must be sha256 PCRs 0..23");
    }
    if (out.pcrs_sha256.size() <= v.index()) out.pcrs_sha256.resize(v.index() + 1);
    if (!out.pcrs_sha256[v.index()].empty()) return ParseError("duplicate PCR value");
    out.pcrs_sha256[v.index()] = v.digest();
  }
  return out;
}

absl::StatusOr<Claims> AzureVtpmEvidenceVerifier::Verify(const v1::Evidence& evidence,
                                                         const v1::TransferKey& transfer_key,
                                                         absl::string_view expected_binding) {
  return Check(evidence, transfer_key, expected_binding);
}

absl::StatusOr<Claims> AzureVtpmEvidenceVerifier::VerifyUnbound(
    const v1::Evidence& evidence, const v1::TransferKey& transfer_key) {
  return Check(evidence, transfer_key, std::nullopt);
}

absl::StatusOr<Claims> AzureVtpmEvidenceVerifier::CheckSnp(
    const v1::AzureVtpmEvidence& e, std::optional<absl::string_view> expected_binding,
    EvpPkeyPtr& ak) {
  AzureSnpVtpmInput in;
  in.hcl_report = e.hcl_report();
  in.vcek = e.vcek();
  in.chain_pem = amd_chain_pem_;
  in.verify_time = clock_->Now();
  if (expected_binding.has_value()) in.expected_user_data = std::string(*expected_binding);
  ASSIGN_OR_RETURN(in.quote, AzureQuoteFromProto(e.quote()));
  if (expected_binding.has_value()) in.expected_nonce = std::string(*expected_binding);
  ASSIGN_OR_RETURN(AzureSnpVtpmClaims az, VerifyAzureSnpVtpm(in, &verified_vceks_));
  ak = std::move(az.ak);
  return ClaimsFromAzureSnp(az);
}

absl::StatusOr<Claims> AzureVtpmEvidenceVerifier::CheckTdx(
    const v1::AzureVtpmEvidence& e, std::optional<absl::string_view> expected_binding,
    EvpPkeyPtr& ak) {
  if (HclReportType(e.hcl_report()) != kHclReportTypeTdx) {
    return ParseError("evidence kind TDX, but the HCL report does not hold a TDREPORT");
  }
  if (e.td_quote().empty()) return ParseError("evidence kind TDX needs the TD quote (td_quote)");
  AzureTdxVtpmInput in;
  in.hcl_report = e.hcl_report();
  in.td_quote = e.td_quote();
  tdx::TdxCollateral storage;
  ASSIGN_OR_RETURN(in.collateral, TdxCollateralForQuote(tdx_.collateral.get(), tdx_.cache,
                                                        e.td_quote(), clock_->Now(), storage));
  in.anchors = tdx_.anchors.roots.empty() ? nullptr : &tdx_.anchors;
  in.options = tdx_.options;
  in.verify_time = clock_->Now();
  if (expected_binding.has_value()) in.expected_user_data = std::string(*expected_binding);
  ASSIGN_OR_RETURN(in.quote, AzureQuoteFromProto(e.quote()));
  if (expected_binding.has_value()) in.expected_nonce = std::string(*expected_binding);
  ASSIGN_OR_RETURN(AzureTdxVtpmClaims az, VerifyAzureTdxVtpm(in));
  ak = std::move(az.ak);
  return ClaimsFromAzureTdx(az);
}

absl::StatusOr<Claims> AzureVtpmEvidenceVerifier::Check(
    const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
    std::optional<absl::string_view> expected_binding) {
  if (!evidence.has_azure_vtpm()) return ParseError("not Azure vTPM evidence");
  const v1::AzureVtpmEvidence& e = evidence.azure_vtpm();
  if (e.kind() != v1::AZURE_VTPM_KIND_SNP && e.kind() != v1::AZURE_VTPM_KIND_TDX) {
    return ParseError("Azure vTPM evidence kind must be SNP or TDX");
  }
  if (!transfer_key.has_tpm() &&
      (expected_binding.has_value() || transfer_key.kind_case() != v1::TransferKey::KIND_NOT_SET)) {
    return ParseError("Azure vTPM evidence needs a TPM transfer key certified by the HCL AK");
  }
  // The HCL AK as the runtime claims' check parsed it (and the vTPM quote verified under it).
  EvpPkeyPtr ak;
  ASSIGN_OR_RETURN(Claims claims, e.kind() == v1::AZURE_VTPM_KIND_SNP
                                      ? CheckSnp(e, expected_binding, ak)
                                      : CheckTdx(e, expected_binding, ak));
  if (ak == nullptr) return ParseError("HCL AK does not parse");
  if (transfer_key.has_tpm()) {
    RETURN_IF_ERROR(CheckTransferKeyCertification(ak.get(), transfer_key.tpm(), expected_binding));
  }
  return claims;
}

}  // namespace kb
