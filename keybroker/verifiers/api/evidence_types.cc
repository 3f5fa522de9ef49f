#include "keybroker/verifiers/api/evidence_types.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace kb {

bool IsEvidenceType(absl::string_view type) {
  return std::find(kEvidenceTypes.begin(), kEvidenceTypes.end(), type) != kEvidenceTypes.end();
}

std::string EvidenceTypeList() { return absl::StrJoin(kEvidenceTypes, ", "); }

}  // namespace kb
