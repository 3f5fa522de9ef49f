#include "keybroker/ctl/ctl_config.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "kb/v1/config.pb.h"

namespace kb {
namespace {

std::string Resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return absl::StrCat(base, "/", path);
}

}  // namespace

absl::StatusOr<CtlConnection> LoadCtlConfigFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  v1::CtlConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, &config, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", std::string(status.message())));
  }
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? "." : path.substr(0, slash);
  CtlConnection conn;
  conn.addr = config.addr();
  conn.ca_file = Resolve(base, config.ca());
  conn.cert_file = Resolve(base, config.cert());
  conn.key_file = Resolve(base, config.key());
  conn.server_name = config.server_name();
  return conn;
}

}  // namespace kb
