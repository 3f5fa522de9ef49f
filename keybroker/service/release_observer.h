#ifndef KB_KEYBROKER_SERVICE_RELEASE_OBSERVER_H_
#define KB_KEYBROKER_SERVICE_RELEASE_OBSERVER_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// One finished release or enrolment confirmation, as the broker's metrics see it. Every field
// is one of a fixed set of names chosen by the broker, never text from the request.
struct ReleaseOutcome {
  absl::string_view action;    // "release", "release_test" (dry run), "confirm_enrolment"
  absl::string_view result;    // "allowed", "denied", or "error" (store or audit unavailable)
  absl::string_view evidence;  // "tpm", "azure", "snp", "tdx", or "none" (missing)
  // Where a refusal came from: the verifier's named check (e.g. "cert_chain"), else the step:
  // "request", "challenge", "evidence", "machine", "key", "policy", "store"; "" when allowed.
  absl::string_view check;
  absl::Duration latency;
};

// Told of every decision ReleaseService makes (the metrics listener). Thread-safe.
class ReleaseObserver {
 public:
  virtual ~ReleaseObserver() = default;
  virtual void Observe(const ReleaseOutcome& outcome) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_RELEASE_OBSERVER_H_
