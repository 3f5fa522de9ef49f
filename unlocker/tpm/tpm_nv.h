#ifndef KB_UNLOCKER_TPM_TPM_NV_H_
#define KB_UNLOCKER_TPM_TPM_NV_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// Ordinary (data) NV indices of the TPM, with owner authorization (an empty owner auth is
// assumed), as the Azure vTPM evidence uses them. Not thread-safe.
//
// Errors: UNAVAILABLE when the TPM cannot be reached, NOT_FOUND for an undefined index,
// FAILED_PRECONDITION or INTERNAL with the decoded TSS2 return code otherwise.
class TpmNv {
 public:
  virtual ~TpmNv() = default;

  // Whether NV index `index` is defined.
  virtual absl::StatusOr<bool> NvDefined(uint32_t index) = 0;

  // Defines `index` with `size` bytes, empty auth, readable and writable with owner or index
  // authorization (OWNERREAD | OWNERWRITE | AUTHREAD | AUTHWRITE | NO_DA).
  virtual absl::Status NvDefine(uint32_t index, uint16_t size) = 0;

  // Writes `data` at offset 0 with owner authorization.
  virtual absl::Status NvWrite(uint32_t index, absl::string_view data) = 0;

  // Reads the whole index with owner authorization.
  virtual absl::StatusOr<std::string> NvRead(uint32_t index) = 0;
};

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_TPM_NV_H_
