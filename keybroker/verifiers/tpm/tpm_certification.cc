#include "keybroker/verifiers/tpm/tpm_certification.h"

#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace {

using absl::StatusCode;

absl::Status CheckTransferKeyShape(const TPMT_PUBLIC& t) {
  constexpr TPMA_OBJECT kRequired = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_DECRYPT;
  constexpr TPMA_OBJECT kForbidden = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED;
  if ((t.objectAttributes & kRequired) != kRequired || (t.objectAttributes & kForbidden) != 0) {
    return CheckFailed(kTpmCheckCertification, StatusCode::kUnauthenticated,
                       "transfer key must be fixedTPM, fixedParent, sensitiveDataOrigin, "
                       "decrypt-only and not restricted");
  }
  const bool ecc = t.type == TPM2_ALG_ECC && t.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256;
  const bool rsa = t.type == TPM2_ALG_RSA && (t.parameters.rsaDetail.keyBits == 2048 ||
                                              t.parameters.rsaDetail.keyBits == 3072);
  if (!ecc && !rsa) {
    return CheckFailed(kTpmCheckCertification, StatusCode::kInvalidArgument,
                       "transfer key must be ECC P-256 or RSA 2048/3072");
  }
  return absl::OkStatus();
}

absl::Status ParseFailed(const absl::Status& s) {
  return CheckFailed("parse", StatusCode::kInvalidArgument, s.message());
}

}  // namespace

absl::Status CheckSignedAttest(const SignedAttestChecks& checks, EVP_PKEY* ak,
                               const TPMS_ATTEST& attest, const TPMT_SIGNATURE& sig,
                               absl::string_view attest_bytes, TPMI_ST_ATTEST type,
                               std::optional<absl::string_view> binding) {
  if (auto s = VerifyTpmSignature(ak, sig, attest_bytes); !s.ok()) {
    return CheckFailed(checks.signature, StatusCode::kUnauthenticated, s.message());
  }
  if (attest.magic != TPM2_GENERATED_VALUE || attest.type != type) {
    return CheckFailed(checks.magic_and_type, StatusCode::kUnauthenticated,
                       "not a TPM-generated structure of the expected type");
  }
  if (binding.has_value() && !ConstantTimeEquals(Tpm2bBytes(attest.extraData), *binding)) {
    return CheckFailed(checks.binding, StatusCode::kUnauthenticated,
                       "extraData does not carry this challenge's binding (stale, replayed or "
                       "for another key or transfer key)");
  }
  return absl::OkStatus();
}

absl::Status CheckTransferKeyCertification(EVP_PKEY* ak, const v1::TpmTransferKey& t,
                                           std::optional<absl::string_view> binding) {
  auto transfer = ParseTpmtPublic(t.public_area(), "transfer key public area");
  if (!transfer.ok()) return ParseFailed(transfer.status());
  auto certify = ParseTpmsAttest(t.certify_info(), "certify info");
  if (!certify.ok()) return ParseFailed(certify.status());
  auto sig = ParseTpmtSignature(t.certify_signature(), "certify signature");
  if (!sig.ok()) return ParseFailed(sig.status());
  RETURN_IF_ERROR(CheckTransferKeyShape(*transfer));
  const SignedAttestChecks names{kTpmCheckCertification, kTpmCheckCertification,
                                 kTpmCheckCertification};
  RETURN_IF_ERROR(CheckSignedAttest(names, ak, *certify, *sig, t.certify_info(),
                                    TPM2_ST_ATTEST_CERTIFY, binding));
  auto name = TpmName(transfer->nameAlg, t.public_area());
  if (!name.ok()) {
    return CheckFailed(kTpmCheckCertification, StatusCode::kInvalidArgument,
                       name.status().message());
  }
  const TPM2B_NAME& certified = certify->attested.certify.name;
  if (absl::string_view(reinterpret_cast<const char*>(certified.name), certified.size) != *name) {
    return CheckFailed(kTpmCheckCertification, StatusCode::kUnauthenticated,
                       "the AK certified a different key than the transfer key presented");
  }
  return absl::OkStatus();
}

}  // namespace kb
