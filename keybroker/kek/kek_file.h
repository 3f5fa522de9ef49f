#ifndef KB_KEYBROKER_KEK_KEK_FILE_H_
#define KB_KEYBROKER_KEK_KEK_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "keybroker/store/kek.h"

namespace kb {

// The KEK in `path`: exactly 32 bytes, readable by its owner only. NOT_FOUND /
// PERMISSION_DENIED naming the file; FAILED_PRECONDITION when group or others can read it (the
// message gives the mode in octal and the chmod that fixes it); INVALID_ARGUMENT for another
// size. Described as "kek_file PATH".
absl::StatusOr<std::unique_ptr<Kek>> LoadKekFile(const std::string& path);

}  // namespace kb

#endif  // KB_KEYBROKER_KEK_KEK_FILE_H_
