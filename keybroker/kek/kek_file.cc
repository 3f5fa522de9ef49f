#include "keybroker/kek/kek_file.h"

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace kb {

absl::StatusOr<std::unique_ptr<Kek>> LoadKekFile(const std::string& path) {
  ASSIGN_OR_RETURN(SecretBytes key, ReadPrivateSecretFile(path));
  ASSIGN_OR_RETURN(std::unique_ptr<AesKek> kek,
                   AesKek::Create(std::move(key), absl::StrCat("kek_file ", path)));
  return std::unique_ptr<Kek>(std::move(kek));
}

}  // namespace kb
