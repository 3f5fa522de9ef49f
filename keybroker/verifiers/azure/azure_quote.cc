#include "keybroker/verifiers/azure/azure_quote.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace {

using absl::StatusCode;

constexpr uint64_t kMaxBincodeField = 4096;  // signatures and TPMS_ATTEST are far smaller
constexpr uint64_t kMaxPcrs = 24;

// Reads length-prefixed fields of the bincode container without reading past its end.
class BincodeReader {
 public:
  explicit BincodeReader(absl::string_view b) : b_(b) {}
  absl::StatusOr<uint64_t> U64(absl::string_view what) {
    if (b_.size() - pos_ < 8) return Truncated(what);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  absl::StatusOr<std::string> Bytes(uint64_t n, absl::string_view what) {
    if (b_.size() - pos_ < n) return Truncated(what);
    std::string out(b_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  std::size_t remaining() const { return b_.size() - pos_; }

 private:
  absl::Status Truncated(absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("bincode quote truncated in ", what));
  }
  absl::string_view b_;
  std::size_t pos_ = 0;
};

absl::StatusOr<TPMT_SIGNATURE> SignatureOf(const AzureTpmQuote& q) {
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

absl::Status CheckQuoteSignature(EVP_PKEY* ak, const TPMS_ATTEST& attest, const TPMT_SIGNATURE& sig,
                                 absl::string_view attest_bytes) {
  if (absl::Status s = VerifyTpmSignature(ak, sig, attest_bytes); !s.ok()) {
    return CheckFailed(kAzCheckQuoteSignature, StatusCode::kUnauthenticated,
                       absl::StrCat("quote not signed by HCLAkPub: ", s.message()));
  }
  if (attest.magic != TPM2_GENERATED_VALUE || attest.type != TPM2_ST_ATTEST_QUOTE) {
    return CheckFailed(kAzCheckQuoteSignature, StatusCode::kUnauthenticated,
                       "signed structure is not a TPM-generated quote");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<uint32_t, std::string>> CheckPcrDigest(const TPMS_ATTEST& attest,
                                                               const AzureTpmQuote& q) {
  auto fail = [](absl::string_view why) {
    return CheckFailed(kAzCheckPcrDigest, StatusCode::kUnauthenticated, why);
  };
  std::map<uint32_t, std::string> pcrs;
  std::string concat;
  const TPML_PCR_SELECTION& sel = attest.attested.quote.pcrSelect;
  for (uint32_t b = 0; b < sel.count && b < TPM2_NUM_PCR_BANKS; ++b) {
    const TPMS_PCR_SELECTION& bank = sel.pcrSelections[b];
    for (uint32_t i = 0; i < bank.sizeofSelect * 8u; ++i) {
      if (!(bank.pcrSelect[i / 8] & (1u << (i % 8)))) continue;
      if (bank.hash != TPM2_ALG_SHA256) return fail("quote selects a non-SHA-256 PCR bank");
      if (i >= q.pcrs_sha256.size() || q.pcrs_sha256[i].size() != 32) {
        return fail(absl::StrCat("quoted PCR ", i, " has no 32-byte SHA-256 value"));
      }
      concat += q.pcrs_sha256[i];
      pcrs[i] = HexEncode(q.pcrs_sha256[i]);
    }
  }
  if (!ConstantTimeEquals(Sha256(concat), Tpm2bBytes(attest.attested.quote.pcrDigest))) {
    return fail("PCR values do not match the quoted digest");
  }
  return pcrs;
}

}  // namespace

absl::StatusOr<AzureTpmQuote> ParseAzureBincodeQuote(absl::string_view bytes) {
  BincodeReader r(bytes);
  AzureTpmQuote q;
  ASSIGN_OR_RETURN(uint64_t sig_len, r.U64("signature length"));
  if (sig_len > kMaxBincodeField) return absl::InvalidArgumentError("signature is oversized");
  ASSIGN_OR_RETURN(q.signature, r.Bytes(sig_len, "signature"));
  ASSIGN_OR_RETURN(uint64_t msg_len, r.U64("message length"));
  if (msg_len > kMaxBincodeField) return absl::InvalidArgumentError("message is oversized");
  ASSIGN_OR_RETURN(q.attest, r.Bytes(msg_len, "message"));
  ASSIGN_OR_RETURN(uint64_t count, r.U64("PCR count"));
  if (count > kMaxPcrs) return absl::InvalidArgumentError("more than 24 PCR values");
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string pcr, r.Bytes(32, "PCR values"));
    q.pcrs_sha256.push_back(std::move(pcr));
  }
  if (r.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bincode quote followed by ", r.remaining(), " trailing bytes"));
  }
  return q;
}

absl::StatusOr<AzureQuoteClaims> VerifyAzureTpmQuote(
    EVP_PKEY* ak, const AzureTpmQuote& quote, const std::optional<std::string>& expected_nonce) {
  auto attest = ParseTpmsAttest(quote.attest, "quote attest");
  if (!attest.ok()) {
    return CheckFailed(kAzCheckQuoteParse, StatusCode::kInvalidArgument, attest.status().message());
  }
  auto sig = SignatureOf(quote);
  if (!sig.ok()) {
    return CheckFailed(kAzCheckQuoteParse, StatusCode::kInvalidArgument, sig.status().message());
  }
  RETURN_IF_ERROR(CheckQuoteSignature(ak, *attest, *sig, quote.attest));
  AzureQuoteClaims claims;
  const std::string nonce = Tpm2bBytes(attest->extraData);
  if (expected_nonce && !ConstantTimeEquals(nonce, *expected_nonce)) {
    return CheckFailed(kAzCheckQuoteNonce, StatusCode::kUnauthenticated,
                       "quote extraData does not carry the expected nonce");
  }
  claims.nonce = HexEncode(nonce);
  if (!quote.pcrs_sha256.empty()) {
    ASSIGN_OR_RETURN(claims.pcrs, CheckPcrDigest(*attest, quote));
  }
  return claims;
}

}  // namespace kb
