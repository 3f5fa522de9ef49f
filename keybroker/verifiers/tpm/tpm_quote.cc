#include "keybroker/verifiers/tpm/tpm_quote.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/api/check.h"
#include "keybroker/verifiers/tpm/tpm_certification.h"

namespace kb {
namespace {

using absl::StatusCode;

absl::StatusOr<TPMT_SIGNATURE> SignatureOf(const TpmQuote& q) {
  if (q.encoding == TpmSignatureEncoding::kTpmtSignature) {
    return ParseTpmtSignature(q.signature, "quote signature");
  }
  TPMT_SIGNATURE sig = {};
  if (q.signature.empty() || q.signature.size() > sizeof(sig.signature.rsassa.sig.buffer)) {
    return absl::InvalidArgumentError("raw RSA quote signature has an impossible size");
  }
  sig.sigAlg = TPM2_ALG_RSASSA;
  sig.signature.rsassa.hash = TPM2_ALG_SHA256;
  sig.signature.rsassa.sig.size = static_cast<UINT16>(q.signature.size());
  memcpy(sig.signature.rsassa.sig.buffer, q.signature.data(), q.signature.size());
  return sig;
}

absl::StatusOr<std::map<uint32_t, std::string>> CheckPcrDigest(const TPMS_ATTEST& attest,
                                                               const TpmQuote& q) {
  auto fail = [](absl::string_view why) {
    return CheckFailed(kTpmCheckPcrDigest, StatusCode::kUnauthenticated, why);
  };
  std::map<uint32_t, std::string> pcrs;
  std::string concat;
  for (const SelectedPcr& pcr : SelectedPcrs(attest)) {
    if (pcr.bank != TPM2_ALG_SHA256) return fail("quote selects a non-SHA-256 PCR bank");
    if (pcr.index >= q.pcrs_sha256.size() || q.pcrs_sha256[pcr.index].size() != 32) {
      return fail(absl::StrCat("quoted PCR ", pcr.index, " has no 32-byte SHA-256 value"));
    }
    concat += q.pcrs_sha256[pcr.index];
    pcrs[pcr.index] = HexEncode(q.pcrs_sha256[pcr.index]);
  }
  if (!PcrDigestMatches(attest, concat)) return fail("PCR values do not match the quoted digest");
  return pcrs;
}

}  // namespace

std::vector<SelectedPcr> SelectedPcrs(const TPMS_ATTEST& quote) {
  std::vector<SelectedPcr> out;
  const TPML_PCR_SELECTION& sel = quote.attested.quote.pcrSelect;
  for (uint32_t b = 0; b < sel.count && b < TPM2_NUM_PCR_BANKS; ++b) {
    const TPMS_PCR_SELECTION& bank = sel.pcrSelections[b];
    for (uint32_t i = 0; i < bank.sizeofSelect * 8u; ++i) {
      if (bank.pcrSelect[i / 8] & (1u << (i % 8))) out.push_back({bank.hash, i});
    }
  }
  return out;
}

bool PcrDigestMatches(const TPMS_ATTEST& quote, absl::string_view values) {
  return ConstantTimeEquals(Sha256(values), Tpm2bBytes(quote.attested.quote.pcrDigest));
}

absl::StatusOr<TpmQuoteClaims> VerifyTpmQuote(EVP_PKEY* ak, const TpmQuote& quote,
                                              const std::optional<std::string>& expected_nonce) {
  auto attest = ParseTpmsAttest(quote.attest, "quote attest");
  if (!attest.ok()) {
    return CheckFailed(kTpmCheckQuoteParse, StatusCode::kInvalidArgument,
                       attest.status().message());
  }
  auto sig = SignatureOf(quote);
  if (!sig.ok()) {
    return CheckFailed(kTpmCheckQuoteParse, StatusCode::kInvalidArgument, sig.status().message());
  }
  const SignedAttestChecks names{kTpmCheckQuoteSignature, kTpmCheckQuoteSignature,
                                 kTpmCheckQuoteNonce};
  std::optional<absl::string_view> nonce_check;
  if (expected_nonce.has_value()) nonce_check = *expected_nonce;
  RETURN_IF_ERROR(
      CheckSignedAttest(names, ak, *attest, *sig, quote.attest, TPM2_ST_ATTEST_QUOTE, nonce_check));
  TpmQuoteClaims claims;
  const std::string nonce = Tpm2bBytes(attest->extraData);
  claims.nonce = HexEncode(nonce);
  if (!quote.pcrs_sha256.empty()) {
    ASSIGN_OR_RETURN(claims.pcrs, CheckPcrDigest(*attest, quote));
  }
  return claims;
}

}  // namespace kb
