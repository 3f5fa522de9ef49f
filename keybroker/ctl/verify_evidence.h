#ifndef KB_KEYBROKER_CTL_VERIFY_EVIDENCE_H_
#define KB_KEYBROKER_CTL_VERIFY_EVIDENCE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kb/v1/evidence.pb.h"

namespace kb {

// `keybrokerctl verify-evidence`: verifies attestation evidence offline (no broker), with the
// same libraries and trust anchors the broker uses, and prints the verified claims.

// A parsed verify-evidence command line. Paths are as given; empty means "not given".
struct VerifyEvidenceArgs {
  std::string type;  // snp, tdx, az-snp-vtpm, az-tdx-vtpm, tpm
  std::string report, vcek, cert_chain, collateral, tpm_quote, tpm_signature, ak, pcrs;
  std::string td_quote;  // az-tdx-vtpm: the TD quote for the HCL report's TDREPORT
  std::string pinned_tcb_signer;
  std::string json_evidence_out;     // --json-evidence-out: write the kb.v1.Evidence JSON here
  std::optional<std::string> nonce;  // decoded
  std::optional<std::string> report_data;  // decoded
  std::optional<absl::Time> at;
};

// Parses args[1..] (args[0] is "verify-evidence"). INVALID_ARGUMENT with a one-line reason for
// an unknown flag or type, a missing value or required file, bad hex or a bad --at time.
absl::StatusOr<VerifyEvidenceArgs> ParseVerifyEvidenceArgs(const std::vector<std::string>& args);

// The evidence the files of `a` make up, as a guest would send it (kb.v1.Evidence), for
// `keybrokerctl policy test`. A --ak must then be a TPMT_PUBLIC (not PEM). NOT_FOUND /
// PERMISSION_DENIED for an unreadable file, INVALID_ARGUMENT for a malformed one.
absl::StatusOr<v1::Evidence> BuildEvidence(const VerifyEvidenceArgs& a);

// The usage text of the command.
std::string VerifyEvidenceUsage();

// Runs the command: exit 0 with the claims as JSON on stdout; 1 with the failing check on
// stderr when the evidence does not verify; 2 for a usage or I/O error.
int RunVerifyEvidence(const std::vector<std::string>& args);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_VERIFY_EVIDENCE_H_
