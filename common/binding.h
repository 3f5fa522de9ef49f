#ifndef KB_COMMON_BINDING_H_
#define KB_COMMON_BINDING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace kb {

// binding = SHA-256("kb-release-v1" || nonce || key_id || SHA-256(transfer_key_public)).
// Every evidence kind must carry this value (TPM quote extraData, TEE report data), so a
// challenge is bound to one key id and one transfer key.
std::string ComputeBinding(absl::string_view nonce, absl::string_view key_id,
                           absl::string_view transfer_key_public);

}  // namespace kb

#endif  // KB_COMMON_BINDING_H_
