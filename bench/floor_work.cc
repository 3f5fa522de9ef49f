#include "bench/floor_work.h"

#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "keybroker/verifiers/snp/snp_report.h"
#include "keybroker/verifiers/snp/snp_verifier.h"

namespace kb {

absl::StatusOr<v1::WrappedKey> TpmFloorWork(const v1::ReleaseKeyRequest& r,
                                            const SecretBytes& key) {
  const auto& q = r.evidence().tpm_quote();
  const auto& t = r.transfer_key().tpm();
  ASSIGN_OR_RETURN(TPMT_PUBLIC ak_public, ParseTpmtPublic(q.ak_public(), "ak"));
  ASSIGN_OR_RETURN(EvpPkeyPtr ak, PublicKeyFromTpmt(ak_public));
  ASSIGN_OR_RETURN(TPMT_SIGNATURE quote_sig, ParseTpmtSignature(q.signature(), "quote"));
  RETURN_IF_ERROR(VerifyTpmSignature(ak.get(), quote_sig, q.attest()));
  ASSIGN_OR_RETURN(TPMT_SIGNATURE cert_sig, ParseTpmtSignature(t.certify_signature(), "certify"));
  RETURN_IF_ERROR(VerifyTpmSignature(ak.get(), cert_sig, t.certify_info()));
  ASSIGN_OR_RETURN(TPMT_PUBLIC transfer, ParseTpmtPublic(t.public_area(), "transfer"));
  return WrapToTpmTransferKey(transfer, t.public_area(), key);
}

absl::StatusOr<v1::WrappedKey> SnpFloorWork(X509* vcek, const v1::ReleaseKeyRequest& r,
                                            const SecretBytes& key) {
  ASSIGN_OR_RETURN(SnpReport report, ParseSnpReport(r.evidence().snp_report().report()));
  RETURN_IF_ERROR(CheckSnpReportSignature(report, vcek));
  return WrapToSpkiTransferKey(r.transfer_key().spki_der(), key);
}

}  // namespace kb
