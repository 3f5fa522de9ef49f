#include "common/binding.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kb {

std::string ComputeBinding(absl::string_view nonce, absl::string_view key_id,
                           absl::string_view transfer_key_public) {
  return Sha256(absl::StrCat("kb-release-v1", nonce, key_id, Sha256(transfer_key_public)));
}

std::string ComputeConfirmationBinding(absl::string_view nonce, absl::string_view key_id,
                                       uint32_t version, absl::string_view transfer_key_public) {
  const char be[4] = {static_cast<char>(version >> 24), static_cast<char>(version >> 16),
                      static_cast<char>(version >> 8), static_cast<char>(version)};
  return Sha256(absl::StrCat("kb-confirm-v1", nonce, key_id, absl::string_view(be, 4),
                             Sha256(transfer_key_public)));
}

}  // namespace kb
