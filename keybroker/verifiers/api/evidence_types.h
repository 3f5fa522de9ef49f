#ifndef KB_KEYBROKER_VERIFIERS_API_EVIDENCE_TYPES_H_
#define KB_KEYBROKER_VERIFIERS_API_EVIDENCE_TYPES_H_

#include <array>
#include <string>

#include "absl/strings/string_view.h"

namespace kb {

// The evidence types a broker verifies, one name each: Claims::evidence_type, a policy rule's
// evidence_types and `keybrokerctl verify-evidence --type` all use these. The table of kinds
// (keybroker/verifiers/evidence_kinds.h) has one row per type. Proto-free.
inline constexpr absl::string_view kEvidenceTpm = "tpm";
inline constexpr absl::string_view kEvidenceSnp = "snp";
inline constexpr absl::string_view kEvidenceTdx = "tdx";
inline constexpr absl::string_view kEvidenceAzureSnp = "az-snp-vtpm";
inline constexpr absl::string_view kEvidenceAzureTdx = "az-tdx-vtpm";

inline constexpr std::array<absl::string_view, 5> kEvidenceTypes = {
    kEvidenceTpm, kEvidenceSnp, kEvidenceTdx, kEvidenceAzureSnp, kEvidenceAzureTdx};

// Whether `type` is one of kEvidenceTypes.
bool IsEvidenceType(absl::string_view type);

// "tpm, snp, tdx, az-snp-vtpm, az-tdx-vtpm": for messages that list the known types.
std::string EvidenceTypeList();

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_API_EVIDENCE_TYPES_H_
