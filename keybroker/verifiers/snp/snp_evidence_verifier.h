#ifndef KB_KEYBROKER_VERIFIERS_SNP_SNP_EVIDENCE_VERIFIER_H_
#define KB_KEYBROKER_VERIFIERS_SNP_SNP_EVIDENCE_VERIFIER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "keybroker/verifiers/snp/snp_key_cert_cache.h"

namespace kb {

// Verifies SnpReportEvidence (proto/kb/v1/evidence.proto) with a TransferKey.spki_der key:
// the SEV-SNP checks of VerifySnpReport() (parse, cert_chain, signer_kind, vcek_tcb, hwid,
// report_signature) at the clock's time, then report_data (REPORT_DATA[0:32] == binding).
// Claims: ClaimsFromSnp() (snp_claims.h). Evidence with neither vcek nor a cert_table entry
// for one uses the collateral cache, when there is one (SnpKeyCertFromCache: a cached VCEK
// for the report's CHIP_ID and REPORTED_TCB). A VCEK/VLEK whose chain verified is kept in a
// SnpKeyCertCache of its own, so later reports signed by it skip the chain's signatures.
// Thread-safe (immutable but for that cache; the clock, both caches are).
class SnpEvidenceVerifier final : public EvidenceVerifier {
 public:
  // `amd_chain_pem`: ASK/ASVK + ARK replacing the built-in AMD roots; empty for the built-ins.
  // `cache`: the operator-managed collateral cache (not owned); null: none.
  SnpEvidenceVerifier(std::string amd_chain_pem, const Clock* clock,
                      CollateralSource* cache = nullptr)
      : amd_chain_pem_(std::move(amd_chain_pem)), clock_(clock), cache_(cache) {}
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                                absl::string_view expected_binding) override;

  // The same checks with the binding skipped (dry run; see EvidenceVerifier).
  absl::StatusOr<Claims> VerifyUnbound(const v1::Evidence& evidence,
                                       const v1::TransferKey& transfer_key) override;

 private:
  // Verify() when `binding` is set, VerifyUnbound() when it is nullopt.
  absl::StatusOr<Claims> Check(const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
                               std::optional<absl::string_view> binding);
  // The VCEK/VLEK: from the evidence, else from the cache.
  absl::StatusOr<std::string> KeyCert(const v1::SnpReportEvidence& e);
  const std::string amd_chain_pem_;
  const Clock* clock_;             // not owned
  CollateralSource* const cache_;  // not owned; may be null
  SnpKeyCertCache verified_certs_;
};

// The VCEK (or, if none, VLEK) certificate from an SNP extended-report certificate table
// (format in SnpReportEvidence.cert_table). INVALID_ARGUMENT (check "parse") for a malformed
// table or one with neither entry.
absl::StatusOr<std::string> SnpKeyCertFromCertTable(absl::string_view table);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_SNP_EVIDENCE_VERIFIER_H_
