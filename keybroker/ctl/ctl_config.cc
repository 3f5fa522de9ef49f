#include "keybroker/ctl/ctl_config.h"

#include "common/json/json_config.h"
#include "common/status_macros.h"
#include "kb/v1/config.pb.h"

namespace kb {

absl::StatusOr<CtlConnection> LoadCtlConfigFile(const std::string& path) {
  v1::CtlConfig config;
  ASSIGN_OR_RETURN(const std::string base, LoadJsonConfig(path, &config));
  CtlConnection conn;
  conn.addr = config.addr();
  conn.ca_file = ResolveAgainst(base, config.ca());
  conn.cert_file = ResolveAgainst(base, config.cert());
  conn.key_file = ResolveAgainst(base, config.key());
  conn.server_name = config.server_name();
  return conn;
}

}  // namespace kb
