#include "keybroker/verifiers/tpm_quote_verifier.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"

namespace kb {
namespace {

using absl::StatusCode;

// Each check's name, as reported in rejections and audit records.
constexpr absl::string_view kParse = "parse";
constexpr absl::string_view kAkTrusted = "ak_trusted";
constexpr absl::string_view kQuoteSignature = "quote_signature";
constexpr absl::string_view kMagicAndType = "quote_magic_and_type";
constexpr absl::string_view kBinding = "quote_binding";
constexpr absl::string_view kPcrDigest = "pcr_digest";
constexpr absl::string_view kCertification = "transfer_key_certification";

struct ParsedEvidence {
  TPMS_ATTEST quote;
  TPMT_SIGNATURE quote_signature;
  TPMT_PUBLIC ak;
  TPMT_PUBLIC transfer;
  TPMS_ATTEST certify;
  TPMT_SIGNATURE certify_signature;
};

absl::StatusOr<ParsedEvidence> Parse(const v1::TpmQuoteEvidence& q, const v1::TransferKey& tk) {
  if (!tk.has_tpm()) {
    return CheckFailed(kParse, StatusCode::kInvalidArgument,
                       "TPM quote evidence needs a TPM transfer key");
  }
  const v1::TpmTransferKey& t = tk.tpm();
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
  KB_PARSE(transfer, ParseTpmtPublic(t.public_area(), "transfer key public area"));
  KB_PARSE(certify, ParseTpmsAttest(t.certify_info(), "certify info"));
  KB_PARSE(certify_signature, ParseTpmtSignature(t.certify_signature(), "certify signature"));
#undef KB_PARSE
  return p;
}

absl::Status CheckSignedAttest(absl::string_view check, EVP_PKEY* ak, const TPMS_ATTEST& attest,
                               const TPMT_SIGNATURE& sig, absl::string_view attest_bytes,
                               TPMI_ST_ATTEST type, absl::string_view binding) {
  if (auto s = VerifyTpmSignature(ak, sig, attest_bytes); !s.ok()) {
    return CheckFailed(check, StatusCode::kUnauthenticated, s.message());
  }
  if (attest.magic != TPM2_GENERATED_VALUE || attest.type != type) {
    return CheckFailed(check == kQuoteSignature ? kMagicAndType : check,
                       StatusCode::kUnauthenticated,
                       "not a TPM-generated structure of the expected type");
  }
  if (!ConstantTimeEquals(Tpm2bBytes(attest.extraData), binding)) {
    return CheckFailed(check == kQuoteSignature ? kBinding : check, StatusCode::kUnauthenticated,
                       "extraData does not carry this challenge's binding (stale, replayed or "
                       "for another key or transfer key)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckAkTrusted(AttestationKeyRegistry& registry, const TPMT_PUBLIC& ak,
                                           absl::string_view ak_bytes) {
  constexpr TPMA_OBJECT kRequired =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  if ((ak.objectAttributes & kRequired) != kRequired) {
    return CheckFailed(kAkTrusted, StatusCode::kUnauthenticated,
                       "AK is not a fixedTPM restricted signing key");
  }
  auto name = TpmName(ak.nameAlg, ak_bytes);
  if (!name.ok())
    return CheckFailed(kAkTrusted, StatusCode::kUnauthenticated, name.status().message());
  auto registered = registry.Lookup(*name);
  if (absl::IsNotFound(registered.status())) {
    return CheckFailed(kAkTrusted, StatusCode::kUnauthenticated,
                       absl::StrCat("AK ", HexEncode(name->substr(2, 8)), "... is not registered"));
  }
  if (!registered.ok()) return registered.status();
  return registered->machine;
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

// Matches the supplied PCR values against the quote's selection and digest; returns claims.
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
  const TPML_PCR_SELECTION& sel = quote.attested.quote.pcrSelect;
  size_t used = 0;
  for (uint32_t b = 0; b < sel.count && b < TPM2_NUM_PCR_BANKS; ++b) {
    ASSIGN_OR_RETURN(std::string bank, BankName(sel.pcrSelections[b].hash));
    for (uint32_t i = 0; i < sel.pcrSelections[b].sizeofSelect * 8u; ++i) {
      if (!(sel.pcrSelections[b].pcrSelect[i / 8] & (1u << (i % 8)))) continue;
      auto it = supplied.find({bank, i});
      if (it == supplied.end()) {
        return CheckFailed(kPcrDigest, StatusCode::kInvalidArgument,
                           absl::StrCat("quoted PCR ", bank, ":", i, " has no value"));
      }
      concat += *it->second;
      claims.pcrs[bank][i] = HexEncode(*it->second);
      ++used;
    }
  }
  if (used != supplied.size()) {
    return CheckFailed(kPcrDigest, StatusCode::kInvalidArgument,
                       "PCR values supplied that the quote does not select");
  }
  // The digest uses the signing scheme's hash; our AKs and policies use SHA-256 schemes.
  if (sig.signature.any.hashAlg != TPM2_ALG_SHA256 ||
      !ConstantTimeEquals(Sha256(concat), Tpm2bBytes(quote.attested.quote.pcrDigest))) {
    return CheckFailed(kPcrDigest, StatusCode::kUnauthenticated,
                       "PCR values do not match the quoted digest");
  }
  return claims;
}

absl::Status CheckTransferKeyShape(const TPMT_PUBLIC& t) {
  constexpr TPMA_OBJECT kRequired = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_DECRYPT;
  constexpr TPMA_OBJECT kForbidden = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED;
  if ((t.objectAttributes & kRequired) != kRequired || (t.objectAttributes & kForbidden) != 0) {
    return CheckFailed(kCertification, StatusCode::kUnauthenticated,
                       "transfer key must be fixedTPM, fixedParent, sensitiveDataOrigin, "
                       "decrypt-only and not restricted");
  }
  const bool ecc = t.type == TPM2_ALG_ECC && t.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256;
  const bool rsa = t.type == TPM2_ALG_RSA && (t.parameters.rsaDetail.keyBits == 2048 ||
                                              t.parameters.rsaDetail.keyBits == 3072);
  if (!ecc && !rsa) {
    return CheckFailed(kCertification, StatusCode::kInvalidArgument,
                       "transfer key must be ECC P-256 or RSA 2048/3072");
  }
  return absl::OkStatus();
}

absl::Status CheckCertification(EVP_PKEY* ak, const ParsedEvidence& p, const v1::TpmTransferKey& t,
                                absl::string_view binding) {
  RETURN_IF_ERROR(CheckTransferKeyShape(p.transfer));
  RETURN_IF_ERROR(CheckSignedAttest(kCertification, ak, p.certify, p.certify_signature,
                                    t.certify_info(), TPM2_ST_ATTEST_CERTIFY, binding));
  auto name = TpmName(p.transfer.nameAlg, t.public_area());
  if (!name.ok())
    return CheckFailed(kCertification, StatusCode::kInvalidArgument, name.status().message());
  const TPM2B_NAME& certified = p.certify.attested.certify.name;
  if (absl::string_view(reinterpret_cast<const char*>(certified.name), certified.size) != *name) {
    return CheckFailed(kCertification, StatusCode::kUnauthenticated,
                       "the AK certified a different key than the transfer key presented");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Claims> TpmQuoteVerifier::Verify(const v1::Evidence& evidence,
                                                const v1::TransferKey& transfer_key,
                                                absl::string_view expected_binding) {
  if (!evidence.has_tpm_quote()) {
    return CheckFailed(kParse, StatusCode::kInvalidArgument, "not TPM quote evidence");
  }
  const v1::TpmQuoteEvidence& q = evidence.tpm_quote();
  ASSIGN_OR_RETURN(ParsedEvidence p, Parse(q, transfer_key));
  ASSIGN_OR_RETURN(std::string machine, CheckAkTrusted(*registry_, p.ak, q.ak_public()));
  auto ak = PublicKeyFromTpmt(p.ak);
  if (!ak.ok()) return CheckFailed(kParse, StatusCode::kInvalidArgument, ak.status().message());
  RETURN_IF_ERROR(CheckSignedAttest(kQuoteSignature, ak->get(), p.quote, p.quote_signature,
                                    q.attest(), TPM2_ST_ATTEST_QUOTE, expected_binding));
  ASSIGN_OR_RETURN(Claims claims, CheckPcrDigest(p.quote, p.quote_signature, q));
  RETURN_IF_ERROR(CheckCertification(ak->get(), p, transfer_key.tpm(), expected_binding));
  claims.evidence_type = "tpm";
  claims.machine = std::move(machine);
  return claims;
}

}  // namespace kb
