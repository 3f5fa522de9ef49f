#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_QUOTE_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_QUOTE_H_

#include <openssl/evp.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// Names of the vTPM quote checks, as reported in rejections.
inline constexpr absl::string_view kAzCheckQuoteParse = "quote_parse";
inline constexpr absl::string_view kAzCheckQuoteSignature = "quote_signature";
inline constexpr absl::string_view kAzCheckQuoteNonce = "quote_nonce";
inline constexpr absl::string_view kAzCheckPcrDigest = "pcr_digest";

enum class TpmSignatureEncoding {
  kRawRsassaSha256,  // the bare RSA signature (Azure tooling / trustee JSON, tpm-quote.sig)
  kTpmtSignature,    // a marshaled TPMT_SIGNATURE
};

// A vTPM quote as Azure guests send it.
struct AzureTpmQuote {
  std::string attest;     // marshaled TPMS_ATTEST (TPM2_Quote)
  std::string signature;  // see `encoding`
  TpmSignatureEncoding encoding = TpmSignatureEncoding::kRawRsassaSha256;
  // SHA-256 PCR values, PCR i at index i (32 bytes each). Empty: no PCR values supplied, so
  // no PCR check and no PCR claims.
  std::vector<std::string> pcrs_sha256;
};

// What a verified quote says. Hex is lowercase.
struct AzureQuoteClaims {
  std::string nonce;                     // extraData, hex
  std::map<uint32_t, std::string> pcrs;  // quoted SHA-256 PCRs, hex
};

// Parses the azure-cvm-tooling "bincode" container (u64 LE length + signature, u64 length +
// TPMS_ATTEST, u64 count + count x 32-byte PCR values). INVALID_ARGUMENT naming the problem if
// truncated, oversized or followed by trailing bytes.
absl::StatusOr<AzureTpmQuote> ParseAzureBincodeQuote(absl::string_view bytes);

// Verifies the quote with the AK: quote_parse, quote_signature (signature by `ak` over the
// TPMS_ATTEST, which must be a TPM-generated quote), quote_nonce (extraData == expected_nonce
// when given) and pcr_digest (when PCR values are supplied: every quoted PCR is SHA-256, has a
// value, and the digest of the values in selection order equals pcrDigest).
// INVALID_ARGUMENT for malformed input, UNAUTHENTICATED otherwise; the message names the check.
absl::StatusOr<AzureQuoteClaims> VerifyAzureTpmQuote(
    EVP_PKEY* ak, const AzureTpmQuote& quote, const std::optional<std::string>& expected_nonce);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_QUOTE_H_
