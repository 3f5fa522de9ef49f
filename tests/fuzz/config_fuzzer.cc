// libFuzzer target for the operator files keybrokerd and its tools read: the broker config
// (JSON through protobuf's parser, then validation, operator identities included) and, on the
// same bytes, the DN parser that certificate subjects go through. See tests/fuzz/README.md.
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>

#include "keybroker/config/broker_config.h"
#include "keybroker/service/distinguished_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)kb::ParseDistinguishedName(text);
  kb::v1::BrokerConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (!google::protobuf::util::JsonStringToMessage(text, &config, options).ok()) return 0;
  (void)kb::ValidateBrokerConfig(config, "/nonexistent");
  return 0;
}
