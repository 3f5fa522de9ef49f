#ifndef KB_COMMON_JSON_JSON_CONFIG_H_
#define KB_COMMON_JSON_JSON_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace kb {

// Reads the config file `path`, in protobuf JSON, into `message`; unknown fields are refused.
// Returns the file's directory, against which relative paths in it are resolved ("." for a
// bare file name). NOT_FOUND / PERMISSION_DENIED as ReadFile; INVALID_ARGUMENT
// "<path>: <what the parser says>" for a file that does not parse.
absl::StatusOr<std::string> LoadJsonConfig(const std::string& path,
                                           google::protobuf::Message* message);

// `path` relative to `base`; an absolute or empty path as it is.
std::string ResolveAgainst(const std::string& base, const std::string& path);

}  // namespace kb

#endif  // KB_COMMON_JSON_JSON_CONFIG_H_
