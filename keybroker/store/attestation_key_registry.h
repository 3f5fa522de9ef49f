#ifndef KB_KEYBROKER_STORE_ATTESTATION_KEY_REGISTRY_H_
#define KB_KEYBROKER_STORE_ATTESTATION_KEY_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// A TPM attestation key an operator trusts for a named machine.
struct RegisteredAk {
  std::string name;  // TPM name (nameAlg || digest), the lookup key
  std::string machine;
  std::string public_area;  // marshaled TPMT_PUBLIC
  absl::Time registered_at;
};

// Thread-safe. ALREADY_EXISTS when the AK is registered already; NOT_FOUND on lookup miss.
class AttestationKeyRegistry {
 public:
  virtual ~AttestationKeyRegistry() = default;
  virtual absl::Status Register(const RegisteredAk& ak) = 0;
  virtual absl::StatusOr<RegisteredAk> Lookup(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<RegisteredAk>> List() = 0;
  // Removes the AK named `name`; NOT_FOUND when it is not registered. Returns what was removed.
  virtual absl::StatusOr<RegisteredAk> Remove(absl::string_view name) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_ATTESTATION_KEY_REGISTRY_H_
