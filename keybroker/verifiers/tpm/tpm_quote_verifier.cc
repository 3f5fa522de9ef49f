#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/api/evidence_types.h"
#include "keybroker/verifiers/tpm/tpm_certification.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {
namespace {

using absl::StatusCode;

// Each check's name, as reported in rejections and audit records.
constexpr absl::string_view kParse = "parse";
constexpr absl::string_view kAkTrusted = "ak_trusted";
constexpr absl::string_view kQuoteSignature = kTpmCheckQuoteSignature;
constexpr absl::string_view kMagicAndType = "quote_magic_and_type";
constexpr absl::string_view kBinding = "quote_binding";
constexpr absl::string_view kPcrDigest = kTpmCheckPcrDigest;

struct ParsedEvidence {
  TPMS_ATTEST quote;
  TPMT_SIGNATURE quote_signature;
  TPMT_PUBLIC ak;
};

// A dry run (`need_tk` false) may go without a transfer key.
absl::StatusOr<ParsedEvidence> Parse(const v1::TpmQuoteEvidence& q, const v1::TransferKey& tk,
                                     bool need_tk) {
  if (!tk.has_tpm() && (need_tk || tk.kind_case() != v1::TransferKey::KIND_NOT_SET)) {
    return CheckFailed(kParse, StatusCode::kInvalidArgument,
                       "TPM quote evidence needs a TPM transfer key");
  }
  ParsedEvidence p;
  auto fail = [](const absl::Status& s) {
    return CheckFailed(kParse, StatusCode::kInvalidArgument, s.message());
  };
#define KB_PARSE(field, expr)             \
  do {                                    \
    auto r = (expr);                      \
    if (!r.ok()) return fail(r.status()); \
    p.field = *r;                         \
  } while (0)
  KB_PARSE(quote, ParseTpmsAttest(q.attest(), "quote attest"));
  KB_PARSE(quote_signature, ParseTpmtSignature(q.signature(), "quote signature"));
  KB_PARSE(ak, ParseTpmtPublic(q.ak_public(), "AK public area"));
#undef KB_PARSE
  return p;
}

// The AK's TPM name and, with a registry, the machine its registration names ("" without one).
absl::StatusOr<RegisteredAk> CheckAkTrusted(AttestationKeyRegistry* registry, const TPMT_PUBLIC& ak,
                                            absl::string_view ak_bytes) {
  if ((ak.objectAttributes & kAttestationKeyAttributes) != kAttestationKeyAttributes) {
    return CheckFailed(kAkTrusted, StatusCode::kUnauthenticated,
                       "AK is not a fixedTPM restricted signing key");
  }
  auto name = TpmName(ak.nameAlg, ak_bytes);
  if (!name.ok())
    return CheckFailed(kAkTrusted, StatusCode::kUnauthenticated, name.status().message());
  if (registry == nullptr) return RegisteredAk{.name = *std::move(name)};
  auto registered = registry->Lookup(*name);
  if (absl::IsNotFound(registered.status())) {
    return AkNotRegisteredError(*name);
  }
  return registered;
}

absl::StatusOr<std::string> BankName(TPMI_ALG_HASH alg) {
  switch (alg) {
    case TPM2_ALG_SHA1:
      return std::string("sha1");
    case TPM2_ALG_SHA256:
      return std::string("sha256");
    case TPM2_ALG_SHA384:
      return std::string("sha384");
    default:
      return CheckFailed(kPcrDigest, StatusCode::kInvalidArgument, "unsupported PCR bank");
  }
}

// Matches the supplied PCR values against the quote's selection and digest (the quote core
// of tpm_quote.h); returns claims.
absl::StatusOr<Claims> CheckPcrDigest(const TPMS_ATTEST& quote, const TPMT_SIGNATURE& sig,
                                      const v1::TpmQuoteEvidence& q) {
  std::map<std::pair<std::string, uint32_t>, const std::string*> supplied;
  for (const v1::PcrValue& v : q.pcrs()) {
    if (!supplied.emplace(std::make_pair(v.bank(), v.index()), &v.digest()).second) {
      return CheckFailed(kPcrDigest, StatusCode::kInvalidArgument, "duplicate PCR value");
    }
  }
  Claims claims;
  std::string concat;
  const std::vector<SelectedPcr> selected = SelectedPcrs(quote);
  for (const SelectedPcr& pcr : selected) {
    ASSIGN_OR_RETURN(std::string bank, BankName(pcr.bank));
    auto it = supplied.find({bank, pcr.index});
    if (it == supplied.end()) {
      return CheckFailed(kPcrDigest, StatusCode::kInvalidArgument,
                         absl::StrCat("quoted PCR ", bank, ":", pcr.index, " has no value"));
    }
    concat += *it->second;
    claims.pcrs[bank][pcr.index] = HexEncode(*it->second);
  }
  if (selected.size() != supplied.size()) {
    return CheckFailed(kPcrDigest, StatusCode::kInvalidArgument,
                       "PCR values supplied that the quote does not select");
  }
  // The digest uses the signing scheme's hash; our AKs and policies use SHA-256 schemes.
  if (sig.signature.any.hashAlg != TPM2_ALG_SHA256 || !PcrDigestMatches(quote, concat)) {
    return CheckFailed(kPcrDigest, StatusCode::kUnauthenticated,
                       "PCR values do not match the quoted digest");
  }
  return claims;
}

}  // namespace

absl::StatusOr<Claims> TpmQuoteVerifier::Verify(const v1::Evidence& evidence,
                                                const v1::TransferKey& transfer_key,
                                                absl::string_view expected_binding) {
  return Check(evidence, transfer_key, expected_binding);
}

absl::StatusOr<Claims> TpmQuoteVerifier::VerifyUnbound(const v1::Evidence& evidence,
                                                       const v1::TransferKey& transfer_key) {
  return Check(evidence, transfer_key, std::nullopt);
}

absl::StatusOr<Claims> TpmQuoteVerifier::Check(const v1::Evidence& evidence,
                                               const v1::TransferKey& transfer_key,
                                               std::optional<absl::string_view> expected_binding) {
  if (!evidence.has_tpm_quote()) {
    return CheckFailed(kParse, StatusCode::kInvalidArgument, "not TPM quote evidence");
  }
  const v1::TpmQuoteEvidence& q = evidence.tpm_quote();
  const bool dry_run = !expected_binding.has_value();
  ASSIGN_OR_RETURN(ParsedEvidence p, Parse(q, transfer_key, !dry_run));
  ASSIGN_OR_RETURN(RegisteredAk registered, CheckAkTrusted(registry_, p.ak, q.ak_public()));
  auto ak = PublicKeyFromTpmt(p.ak);
  if (!ak.ok()) return CheckFailed(kParse, StatusCode::kInvalidArgument, ak.status().message());
  RETURN_IF_ERROR(CheckSignedAttest({kQuoteSignature, kMagicAndType, kBinding}, ak->get(), p.quote,
                                    p.quote_signature, q.attest(), TPM2_ST_ATTEST_QUOTE,
                                    expected_binding));
  ASSIGN_OR_RETURN(Claims claims, CheckPcrDigest(p.quote, p.quote_signature, q));
  if (transfer_key.has_tpm()) {
    RETURN_IF_ERROR(CheckTransferKeyCertification(ak->get(), transfer_key.tpm(), expected_binding));
  }
  claims.evidence_type = std::string(kEvidenceTpm);
  claims.machine = std::move(registered.machine);
  claims.attestation_key = std::move(registered.name);
  return claims;
}

}  // namespace kb
