#ifndef KB_COMMON_FILES_H_
#define KB_COMMON_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"

namespace kb {

// Reads a whole file. NOT_FOUND / PERMISSION_DENIED / INTERNAL with the path and strerror.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Reads a secret file into SecretBytes. FAILED_PRECONDITION if the file is accessible to its
// group or to others (mode & 077), so a leaked permission stops the service instead of the key.
absl::StatusOr<SecretBytes> ReadPrivateSecretFile(const std::string& path);

// Reads a secret file (e.g. a passphrase key file) into SecretBytes, byte for byte.
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path);

// Writes `data` to `path` atomically (temp file + rename) with mode `mode`.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode = 0600);

}  // namespace kb

#endif  // KB_COMMON_FILES_H_
