#include "keybroker/verifiers/azure_vtpm_evidence_verifier.h"

#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/snp/azure_snp_verifier.h"
#include "keybroker/verifiers/tee_claims.h"
#include "keybroker/verifiers/tpm_certification.h"

namespace kb {
namespace {

using absl::StatusCode;

absl::Status ParseError(absl::string_view detail) {
  return CheckFailed("parse", StatusCode::kInvalidArgument, detail);
}

}  // namespace

absl::StatusOr<AzureTpmQuote> AzureQuoteFromProto(const v1::TpmQuoteEvidence& q) {
  AzureTpmQuote out;
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

absl::StatusOr<Claims> AzureVtpmEvidenceVerifier::Check(
    const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
    std::optional<absl::string_view> expected_binding) {
  if (!evidence.has_azure_vtpm()) return ParseError("not Azure vTPM evidence");
  const v1::AzureVtpmEvidence& e = evidence.azure_vtpm();
  if (e.kind() != v1::AZURE_VTPM_KIND_SNP) {
    return ParseError("only Azure SEV-SNP vTPM evidence (kind SNP) is supported");
  }
  if (!transfer_key.has_tpm() &&
      (expected_binding.has_value() || transfer_key.kind_case() != v1::TransferKey::KIND_NOT_SET)) {
    return ParseError("Azure vTPM evidence needs a TPM transfer key certified by the HCL AK");
  }
  AzureSnpVtpmInput in;
  in.hcl_report = e.hcl_report();
  in.vcek = e.vcek();
  in.chain_pem = amd_chain_pem_;
  in.verify_time = clock_->Now();
  if (expected_binding.has_value()) in.expected_user_data = std::string(*expected_binding);
  ASSIGN_OR_RETURN(in.quote, AzureQuoteFromProto(e.quote()));
  if (expected_binding.has_value()) in.expected_nonce = std::string(*expected_binding);
  ASSIGN_OR_RETURN(AzureSnpVtpmClaims az, VerifyAzureSnpVtpm(in));
  const auto* p = reinterpret_cast<const unsigned char*>(az.ak_spki_der.data());
  EvpPkeyPtr ak(d2i_PUBKEY(nullptr, &p, static_cast<long>(az.ak_spki_der.size())));
  if (!ak) return ParseError("HCL AK does not parse");
  if (transfer_key.has_tpm()) {
    RETURN_IF_ERROR(CheckTransferKeyCertification(ak.get(), transfer_key.tpm(), expected_binding));
  }
  return ClaimsFromAzureSnp(az);
}

}  // namespace kb
