#include "common/binding.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kb {

std::string ComputeBinding(absl::string_view nonce, absl::string_view key_id,
                           absl::string_view transfer_key_public) {
  return Sha256(absl::StrCat("kb-release-v1", nonce, key_id, Sha256(transfer_key_public)));
}

}  // namespace kb
