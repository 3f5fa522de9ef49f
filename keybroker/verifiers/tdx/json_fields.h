#ifndef KB_KEYBROKER_VERIFIERS_TDX_JSON_FIELDS_H_
#define KB_KEYBROKER_VERIFIERS_TDX_JSON_FIELDS_H_

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {
namespace tdx {

// Typed reads of JSON members parsed into google.protobuf.Struct. Every error is
// INVALID_ARGUMENT and names the member ("tcbInfo.fmspc").

// Parses `json` (an object) into a Struct with protobuf's JSON parser.
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view json,
                                                         absl::string_view what);

absl::StatusOr<const google::protobuf::Struct*> GetObject(const google::protobuf::Struct& s,
                                                          absl::string_view name,
                                                          absl::string_view path);
// NOT_FOUND-free variant: nullptr if absent, error only if present with another type.
absl::StatusOr<const google::protobuf::Struct*> GetOptionalObject(const google::protobuf::Struct& s,
                                                                  absl::string_view name,
                                                                  absl::string_view path);
absl::StatusOr<const google::protobuf::ListValue*> GetList(const google::protobuf::Struct& s,
                                                           absl::string_view name,
                                                           absl::string_view path);
absl::StatusOr<std::string> GetString(const google::protobuf::Struct& s, absl::string_view name,
                                      absl::string_view path);
// An integral number in [min, max].
absl::StatusOr<int64_t> GetInt(const google::protobuf::Struct& s, absl::string_view name,
                               int64_t min, int64_t max, absl::string_view path);
// A hex string decoding to exactly `size` bytes; returns the bytes.
absl::StatusOr<std::string> GetHexBytes(const google::protobuf::Struct& s, absl::string_view name,
                                        std::size_t size, absl::string_view path);
// An RFC 3339 timestamp.
absl::StatusOr<absl::Time> GetTime(const google::protobuf::Struct& s, absl::string_view name,
                                   absl::string_view path);
// A list of strings; empty if absent.
absl::StatusOr<std::vector<std::string>> GetOptionalStringList(const google::protobuf::Struct& s,
                                                               absl::string_view name,
                                                               absl::string_view path);
// Element `i` of `list` as an object.
absl::StatusOr<const google::protobuf::Struct*> ListObject(const google::protobuf::ListValue& list,
                                                           int i, absl::string_view path);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_JSON_FIELDS_H_
