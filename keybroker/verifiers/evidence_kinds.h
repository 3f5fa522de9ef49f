#ifndef KB_KEYBROKER_VERIFIERS_EVIDENCE_KINDS_H_
#define KB_KEYBROKER_VERIFIERS_EVIDENCE_KINDS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/openssl_util.h"
#include "kb/v1/evidence.pb.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/verifiers/api/verifier_set.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"
#include "keybroker/verifiers/verifier_trust.h"

namespace kb {

// The one table of evidence kinds. Each row is one evidence type (api/evidence_types.h) and
// says, for that type, how keybrokerd and the policy dry run verify the kb.v1.Evidence a guest
// sends (the verifier in the broker's VerifierSet) and how `keybrokerctl verify-evidence`
// verifies the same evidence from an operator's files, with the same bytes-level checks.
// Adding an evidence kind is one folder under verifiers/, one row here and one guest source
// (docs/architecture.md).

// What the broker's verifiers are built on. Not owned; all must outlive the verifiers.
struct VerifierDeps {
  const VerifierTrust* trust = nullptr;
  const Clock* clock = nullptr;
  // Operator-registered AKs (TPM quotes); null: the caller finds a quote's AK registration
  // (see TpmQuoteVerifier).
  AttestationKeyRegistry* aks = nullptr;
  CollateralSource* cache = nullptr;  // the operator-managed collateral cache; may be null
};

// An evidence file a row needs (verify-evidence names each by its flag).
enum class EvidenceInput { kReport, kVcek, kTdQuote, kTpmQuote, kTpmSignature, kAk, kCollateral };

// Evidence as an operator holds it in files, read and decoded by verify-evidence.
struct OfflineEvidence {
  std::string report;             // SEV-SNP report (raw or hex), TDX quote or HCL report
  std::string vcek;               // VCEK/VLEK, PEM or DER
  std::string td_quote;           // Azure TDX: the TD quote for the HCL report
  std::optional<TpmQuote> quote;  // a TPM or vTPM quote with its PCR values
  EvpPkeyPtr ak;                  // the AK of a plain TPM quote
  std::string ak_public;          // its TPMT_PUBLIC; empty when it was given as PEM
};

// What an offline verification expects beyond authenticity, and when it runs.
struct OfflineExpectations {
  absl::Time at;
  std::optional<std::string> report_data;  // prefix of REPORT_DATA (Azure: runtime user-data)
  std::optional<std::string> nonce;        // the quote's extraData
};

struct EvidenceKind {
  absl::string_view type;               // kEvidence*: Claims::evidence_type, verify-evidence --type
  v1::Evidence::KindCase kind;          // the kb.v1.Evidence case a guest sends
  std::vector<EvidenceInput> required;  // files verify-evidence needs for this type
  std::vector<EvidenceInput> optional;  // files it also reads when given
  // The broker's verifier for `kind`. Rows that share a kind case (the Azure vTPM kinds) share
  // the verifier built for the first of them. INVALID_ARGUMENT when the trust does not parse.
  absl::StatusOr<std::unique_ptr<EvidenceVerifier>> (*make_verifier)(const VerifierDeps&);
  // verify-evidence: every check of the verifier on the files, at `expect.at`, with the
  // binding replaced by the operator's expectations. Errors name the failing check.
  absl::StatusOr<Claims> (*verify_offline)(const OfflineEvidence&, const VerifierTrust&,
                                           const OfflineExpectations&);
  // The kb.v1.Evidence a guest would send with these files (`policy test --evidence`).
  absl::StatusOr<v1::Evidence> (*to_proto)(const OfflineEvidence&);
};

// The rows, in the order of kEvidenceTypes.
absl::Span<const EvidenceKind> EvidenceKinds();

// The row of `type`; null for an unknown type.
const EvidenceKind* FindEvidenceKind(absl::string_view type);

// Adds the verifier of every kind case of the table to `set` (keybrokerd's composition root).
// Errors as make_verifier.
absl::Status AddVerifiers(const VerifierDeps& deps, VerifierSet& set);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_EVIDENCE_KINDS_H_
