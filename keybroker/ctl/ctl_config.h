#ifndef KB_KEYBROKER_CTL_CTL_CONFIG_H_
#define KB_KEYBROKER_CTL_CTL_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "keybroker/ctl/ctl_args.h"

namespace kb {

// Reads keybrokerctl's config file (JSON, schema kb.v1.CtlConfig): the connection settings,
// with relative paths resolved against the file's directory. NOT_FOUND if the file does not
// exist; INVALID_ARGUMENT naming the path for malformed JSON or an unknown field.
// A CtlConfigLoader for ParseCtlArgs.
absl::StatusOr<CtlConnection> LoadCtlConfigFile(const std::string& path);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_CTL_CONFIG_H_
