#ifndef KB_KEYBROKER_CONFIG_BROKER_CONFIG_H_
#define KB_KEYBROKER_CONFIG_BROKER_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "kb/v1/config.pb.h"

namespace kb {

// Loads and validates the broker config (JSON, schema kb.v1.BrokerConfig, docs/config.md).
// Relative paths are resolved against the config file's directory; defaults are filled in.
// INVALID_ARGUMENT naming the field and the problem (unknown field, wrong type, missing
// required field, bad host:port); NOT_FOUND if the file does not exist.
absl::StatusOr<v1::BrokerConfig> LoadBrokerConfig(const std::string& path);

// The same validation for a config already parsed (`base_dir` resolves relative paths).
absl::StatusOr<v1::BrokerConfig> ValidateBrokerConfig(v1::BrokerConfig config,
                                                      const std::string& base_dir);

}  // namespace kb

#endif  // KB_KEYBROKER_CONFIG_BROKER_CONFIG_H_
