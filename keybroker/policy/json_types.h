#ifndef KB_KEYBROKER_POLICY_JSON_TYPES_H_
#define KB_KEYBROKER_POLICY_JSON_TYPES_H_

#include <google/protobuf/descriptor.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kb {

// Strict JSON typing for operator-written protos. protobuf's JSON parser is lenient (it takes a
// scalar for a repeated field and strings for bools and numbers); this walks `json` along
// `descriptor` and requires arrays for repeated fields, objects for messages and maps, JSON
// booleans for bools, numbers for numeric fields and strings for strings. Unknown fields are
// left to the parser. INVALID_ARGUMENT naming the field path otherwise (or for bad JSON).
absl::Status CheckJsonTypes(absl::string_view json, const google::protobuf::Descriptor* descriptor);

}  // namespace kb

#endif  // KB_KEYBROKER_POLICY_JSON_TYPES_H_
