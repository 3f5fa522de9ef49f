#ifndef KB_KEYBROKER_SERVICE_VALIDATION_H_
#define KB_KEYBROKER_SERVICE_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kb {

// Key ids and machine names: [A-Za-z0-9._-]{1,128}. INVALID_ARGUMENT naming `field` otherwise.
absl::Status ValidateName(absl::string_view field, absl::string_view value);

// Machine names as verified evidence names them: a registered AK's machine name, or a TEE or
// EK identity such as "snp-chip:<hex>", "azure-vm:<id>", "ek:<hex>". 1 to 256 printable ASCII
// characters without spaces; INVALID_ARGUMENT naming `field` otherwise.
absl::Status ValidateMachine(absl::string_view field, absl::string_view value);

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_VALIDATION_H_
