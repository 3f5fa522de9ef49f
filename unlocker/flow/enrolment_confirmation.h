#ifndef KB_UNLOCKER_FLOW_ENROLMENT_CONFIRMATION_H_
#define KB_UNLOCKER_FLOW_ENROLMENT_CONFIRMATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/volume/volume.h"

namespace kb {

// Tells the broker, attested like a release (challenge, fresh transfer key, evidence over the
// confirmation binding of common/binding.h), that the volume of `token` is enrolled with
// token.key_version only. Tries `endpoints` in order until one records it. Returns the last
// error (the broker's, or UNAVAILABLE listing every endpoint) when none did.
absl::Status ConfirmEnrolment(EvidenceSource& source, const BrokerConnector& connect,
                              const std::vector<std::string>& endpoints,
                              const KeybrokerToken& token);

// When `token` awaits confirmation (confirmed == false): confirms it and, on success, rewrites
// it in the header with confirmed = true. A failure is reported through `progress` as a
// warning and otherwise ignored (the volume is fine; the next unlock tries again).
void ConfirmPendingEnrolment(Volume& volume, EvidenceSource& source, const BrokerConnector& connect,
                             const std::vector<std::string>& endpoints, KeybrokerToken& token,
                             const Progress& progress);

}  // namespace kb

#endif  // KB_UNLOCKER_FLOW_ENROLMENT_CONFIRMATION_H_
