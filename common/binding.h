#ifndef KB_COMMON_BINDING_H_
#define KB_COMMON_BINDING_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kb {

// binding = SHA-256("kb-release-v1" || nonce || key_id || SHA-256(transfer_key_public)).
// Every evidence kind must carry this value (TPM quote extraData, TEE report data), so a
// challenge is bound to one key id and one transfer key.
std::string ComputeBinding(absl::string_view nonce, absl::string_view key_id,
                           absl::string_view transfer_key_public);

// binding = SHA-256("kb-confirm-v1" || nonce || key_id || u32be(version) ||
//                   SHA-256(transfer_key_public)).
// The binding of an enrolment confirmation (KeyRelease.ConfirmEnrolment). Its own prefix keeps
// a confirmation's evidence from ever serving as a release's, and the reverse.
std::string ComputeConfirmationBinding(absl::string_view nonce, absl::string_view key_id,
                                       uint32_t version, absl::string_view transfer_key_public);

}  // namespace kb

#endif  // KB_COMMON_BINDING_H_
