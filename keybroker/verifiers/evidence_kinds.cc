#include "keybroker/verifiers/evidence_kinds.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/api/evidence_types.h"
#include "keybroker/verifiers/azure/azure_claims.h"
#include "keybroker/verifiers/azure/azure_snp_verifier.h"
#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"
#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"
#include "keybroker/verifiers/snp/snp_claims.h"
#include "keybroker/verifiers/snp/snp_evidence_verifier.h"
#include "keybroker/verifiers/snp/snp_report.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "keybroker/verifiers/tdx/tdx_claims.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"
#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"

namespace kb {
namespace {

using Input = EvidenceInput;
using VerifierOr = absl::StatusOr<std::unique_ptr<EvidenceVerifier>>;

// A report given as hex text (e.g. virtee's report_milan.hex) is decoded.
std::string MaybeHex(const std::string& data) {
  if (data.size() == kSnpReportSize) return data;
  auto bytes = HexDecode(absl::StripAsciiWhitespace(data));
  return bytes.ok() ? *bytes : data;
}

v1::TpmQuoteEvidence QuoteToProto(const TpmQuote& quote) {
  v1::TpmQuoteEvidence out;
  out.set_attest(quote.attest);
  out.set_signature(quote.signature);
  for (size_t i = 0; i < quote.pcrs_sha256.size(); ++i) {
    if (quote.pcrs_sha256[i].empty()) continue;
    v1::PcrValue* pcr = out.add_pcrs();
    pcr->set_bank("sha256");
    pcr->set_index(static_cast<uint32_t>(i));
    pcr->set_digest(quote.pcrs_sha256[i]);
  }
  return out;
}

// Offline TDX collateral: what the trust holds for `quote`, required as far as it goes (an
// operator may inspect a quote with no collateral at all).
std::pair<const tdx::TdxCollateral*, tdx::TdxVerifyOptions> OfflineCollateral(
    const VerifierTrust& trust, absl::string_view quote) {
  if (!trust.tdx_collateral) return {nullptr, tdx::TdxVerifyOptions{false, false, false}};
  const tdx::TdxCollateral* c = trust.tdx_collateral->ForQuote(quote);
  return {c, tdx::TdxVerifyOptions{true, c->qe_identity.has_value(), !c->crls.empty()}};
}

// --- tpm: a TPM2_Quote by an operator-registered AK.

VerifierOr MakeTpm(const VerifierDeps& d) { return std::make_unique<TpmQuoteVerifier>(d.aks); }

absl::StatusOr<Claims> OfflineTpm(const OfflineEvidence& e, const VerifierTrust&,
                                  const OfflineExpectations& x) {
  ASSIGN_OR_RETURN(TpmQuoteClaims q, VerifyTpmQuote(e.ak.get(), *e.quote, x.nonce));
  Claims c;
  c.evidence_type = std::string(kEvidenceTpm);
  c.attributes["tpm.nonce"] = q.nonce;
  for (const auto& [index, value] : q.pcrs) c.pcrs["sha256"][index] = value;
  return c;
}

absl::StatusOr<v1::Evidence> TpmProto(const OfflineEvidence& e) {
  if (e.ak_public.empty()) {
    return absl::InvalidArgumentError("the AK must be a TPMT_PUBLIC or TPM2B_PUBLIC, not PEM");
  }
  v1::Evidence out;
  *out.mutable_tpm_quote() = QuoteToProto(*e.quote);
  out.mutable_tpm_quote()->set_ak_public(e.ak_public);
  return out;
}

// --- snp: an SEV-SNP attestation report with its VCEK or VLEK.

VerifierOr MakeSnp(const VerifierDeps& d) {
  return std::make_unique<SnpEvidenceVerifier>(d.trust->amd_chain_pem, d.clock, d.cache);
}

absl::StatusOr<Claims> OfflineSnp(const OfflineEvidence& e, const VerifierTrust& trust,
                                  const OfflineExpectations& x) {
  SnpVerifyInput in;
  in.report = MaybeHex(e.report);
  in.vcek = e.vcek;
  in.chain_pem = trust.amd_chain_pem;
  in.verify_time = x.at;
  in.expected_report_data = x.report_data;
  ASSIGN_OR_RETURN(SnpClaims snp, VerifySnpReport(in));
  return ClaimsFromSnp(snp);
}

absl::StatusOr<v1::Evidence> SnpProto(const OfflineEvidence& e) {
  v1::Evidence out;
  out.mutable_snp_report()->set_report(MaybeHex(e.report));
  out.mutable_snp_report()->set_vcek(e.vcek);
  return out;
}

// --- tdx: a TDX quote, its PCK chain and Intel's collateral.

VerifierOr MakeTdx(const VerifierDeps& d) {
  ASSIGN_OR_RETURN(tdx::IntelTrustAnchors anchors, IntelAnchorsOf(*d.trust));
  return std::make_unique<TdxEvidenceVerifier>(std::move(anchors), d.trust->tdx_collateral, d.clock,
                                               d.cache);
}

absl::StatusOr<Claims> OfflineTdx(const OfflineEvidence& e, const VerifierTrust& trust,
                                  const OfflineExpectations& x) {
  ASSIGN_OR_RETURN(tdx::IntelTrustAnchors anchors, IntelAnchorsOf(trust));
  tdx::TdxVerifyInput in;
  in.quote = e.report;
  in.anchors = &anchors;
  in.now = x.at;
  in.expected_report_data = x.report_data;
  std::tie(in.collateral, in.options) = OfflineCollateral(trust, e.report);
  ASSIGN_OR_RETURN(tdx::TdxClaims claims, tdx::VerifyTdxQuote(in));
  return ClaimsFromTdx(claims);
}

absl::StatusOr<v1::Evidence> TdxProto(const OfflineEvidence& e) {
  v1::Evidence out;
  out.mutable_tdx_quote()->set_quote(e.report);
  return out;
}

// --- az-snp-vtpm and az-tdx-vtpm: Azure's paravisor (HCL) report over the hardware report,
// and the vTPM quote by the AK it names. One verifier serves both.

VerifierOr MakeAzure(const VerifierDeps& d) {
  AzureTdxTrust tdx;
  ASSIGN_OR_RETURN(tdx.anchors, IntelAnchorsOf(*d.trust));
  tdx.collateral = d.trust->tdx_collateral;
  tdx.cache = d.cache;
  return std::make_unique<AzureVtpmEvidenceVerifier>(d.trust->amd_chain_pem, std::move(tdx),
                                                     d.clock);
}

absl::StatusOr<Claims> OfflineAzureSnp(const OfflineEvidence& e, const VerifierTrust& trust,
                                       const OfflineExpectations& x) {
  AzureSnpVtpmInput in;
  in.hcl_report = e.report;
  in.vcek = e.vcek;
  in.chain_pem = trust.amd_chain_pem;
  in.verify_time = x.at;
  in.expected_user_data = x.report_data;
  in.expected_nonce = x.nonce;
  in.quote = *e.quote;
  ASSIGN_OR_RETURN(AzureSnpVtpmClaims az, VerifyAzureSnpVtpm(in));
  return ClaimsFromAzureSnp(az);
}

absl::StatusOr<Claims> OfflineAzureTdx(const OfflineEvidence& e, const VerifierTrust& trust,
                                       const OfflineExpectations& x) {
  ASSIGN_OR_RETURN(tdx::IntelTrustAnchors anchors, IntelAnchorsOf(trust));
  AzureTdxVtpmInput in;
  in.hcl_report = e.report;
  in.td_quote = e.td_quote;
  in.anchors = &anchors;
  std::tie(in.collateral, in.options) = OfflineCollateral(trust, e.td_quote);
  in.verify_time = x.at;
  in.expected_user_data = x.report_data;
  in.expected_nonce = x.nonce;
  in.quote = *e.quote;
  ASSIGN_OR_RETURN(AzureTdxVtpmClaims az, VerifyAzureTdxVtpm(in));
  return ClaimsFromAzureTdx(az);
}

absl::StatusOr<v1::Evidence> AzureProto(const OfflineEvidence& e, v1::AzureVtpmKind kind) {
  v1::Evidence out;
  v1::AzureVtpmEvidence* az = out.mutable_azure_vtpm();
  az->set_kind(kind);
  az->set_hcl_report(e.report);
  if (kind == v1::AZURE_VTPM_KIND_SNP) az->set_vcek(e.vcek);
  if (kind == v1::AZURE_VTPM_KIND_TDX) az->set_td_quote(e.td_quote);
  *az->mutable_quote() = QuoteToProto(*e.quote);
  return out;
}

absl::StatusOr<v1::Evidence> AzureSnpProto(const OfflineEvidence& e) {
  return AzureProto(e, v1::AZURE_VTPM_KIND_SNP);
}

absl::StatusOr<v1::Evidence> AzureTdxProto(const OfflineEvidence& e) {
  return AzureProto(e, v1::AZURE_VTPM_KIND_TDX);
}

const std::vector<EvidenceKind>& Table() {
  static const auto* kTable = new std::vector<EvidenceKind>{
      {kEvidenceTpm,
       v1::Evidence::kTpmQuote,
       {Input::kTpmQuote, Input::kTpmSignature, Input::kAk},
       {},
       MakeTpm,
       OfflineTpm,
       TpmProto},
      {kEvidenceSnp,
       v1::Evidence::kSnpReport,
       {Input::kReport, Input::kVcek},
       {},
       MakeSnp,
       OfflineSnp,
       SnpProto},
      {kEvidenceTdx,
       v1::Evidence::kTdxQuote,
       {Input::kReport},
       {Input::kCollateral},
       MakeTdx,
       OfflineTdx,
       TdxProto},
      {kEvidenceAzureSnp,
       v1::Evidence::kAzureVtpm,
       {Input::kReport, Input::kVcek, Input::kTpmQuote},
       {Input::kTpmSignature},
       MakeAzure,
       OfflineAzureSnp,
       AzureSnpProto},
      {kEvidenceAzureTdx,
       v1::Evidence::kAzureVtpm,
       {Input::kReport, Input::kTdQuote, Input::kTpmQuote},
       {Input::kTpmSignature, Input::kCollateral},
       MakeAzure,
       OfflineAzureTdx,
       AzureTdxProto},
  };
  return *kTable;
}

}  // namespace

absl::Span<const EvidenceKind> EvidenceKinds() { return Table(); }

const EvidenceKind* FindEvidenceKind(absl::string_view type) {
  for (const EvidenceKind& row : Table()) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

absl::Status AddVerifiers(const VerifierDeps& deps, VerifierSet& set) {
  for (const EvidenceKind& row : Table()) {
    if (set.Has(row.kind)) continue;  // a kind case another row already serves
    ASSIGN_OR_RETURN(std::unique_ptr<EvidenceVerifier> verifier, row.make_verifier(deps));
    set.Add(row.kind, std::move(verifier));
  }
  return absl::OkStatus();
}

}  // namespace kb
