#ifndef KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_H_
#define KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_H_

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// Names of the vTPM quote checks, as reported in rejections.
inline constexpr absl::string_view kTpmCheckQuoteParse = "quote_parse";
inline constexpr absl::string_view kTpmCheckQuoteSignature = "quote_signature";
inline constexpr absl::string_view kTpmCheckQuoteNonce = "quote_nonce";
inline constexpr absl::string_view kTpmCheckPcrDigest = "pcr_digest";

enum class TpmSignatureEncoding {
  kRawRsassaSha256,  // the bare RSA signature (Azure tooling / trustee JSON, tpm-quote.sig)
  kTpmtSignature,    // a marshaled TPMT_SIGNATURE
};

// A TPM2_Quote with its signature and the PCR values it covers (a registered AK's quote,
// an Azure vTPM quote by the HCL AK, or files from tpm2-tools).
struct TpmQuote {
  std::string attest;     // marshaled TPMS_ATTEST (TPM2_Quote)
  std::string signature;  // see `encoding`
  TpmSignatureEncoding encoding = TpmSignatureEncoding::kRawRsassaSha256;
  // SHA-256 PCR values, PCR i at index i (32 bytes each). Empty: no PCR values supplied, so
  // no PCR check and no PCR claims.
  std::vector<std::string> pcrs_sha256;
};

// What a verified quote says. Hex is lowercase.
struct TpmQuoteClaims {
  std::string nonce;                     // extraData, hex
  std::map<uint32_t, std::string> pcrs;  // quoted SHA-256 PCRs, hex
};

// The quote core shared by every verifier of TPM quotes (TpmQuoteVerifier for registered AKs,
// VerifyTpmQuote() for the Azure vTPM and offline files).

// One PCR a quote selects.
struct SelectedPcr {
  TPMI_ALG_HASH bank;
  uint32_t index;
};

// The PCRs `quote` (a TPM2_Quote's TPMS_ATTEST) selects, in the order its pcrDigest covers
// them: bank by bank, index ascending.
std::vector<SelectedPcr> SelectedPcrs(const TPMS_ATTEST& quote);

// Whether SHA-256 over `values` (the selected PCRs' values, concatenated in SelectedPcrs()
// order) equals the quote's pcrDigest. Constant time.
bool PcrDigestMatches(const TPMS_ATTEST& quote, absl::string_view values);

// Verifies the quote with the AK: quote_parse, quote_signature (signature by `ak` over the
// TPMS_ATTEST, which must be a TPM-generated quote), quote_nonce (extraData == expected_nonce
// when given) and pcr_digest (when PCR values are supplied: every quoted PCR is SHA-256, has a
// value, and the digest of the values in selection order equals pcrDigest).
// INVALID_ARGUMENT for malformed input, UNAUTHENTICATED otherwise; the message names the check.
absl::StatusOr<TpmQuoteClaims> VerifyTpmQuote(EVP_PKEY* ak, const TpmQuote& quote,
                                              const std::optional<std::string>& expected_nonce);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TPM_TPM_QUOTE_H_
