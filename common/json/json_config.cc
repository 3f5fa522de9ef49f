#include "common/json/json_config.h"

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace kb {

absl::StatusOr<std::string> LoadJsonConfig(const std::string& path,
                                           google::protobuf::Message* message) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", std::string(status.message())));
  }
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string ResolveAgainst(const std::string& base, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return absl::StrCat(base, "/", path);
}

}  // namespace kb
