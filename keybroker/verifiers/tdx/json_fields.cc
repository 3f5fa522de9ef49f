#include "keybroker/verifiers/tdx/json_fields.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace kb {
namespace tdx {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

absl::Status Bad(absl::string_view path, absl::string_view name, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ".", name, ": ", what));
}

absl::StatusOr<const Value*> Find(const Struct& s, absl::string_view name, absl::string_view path,
                                  Value::KindCase kind, absl::string_view kind_name) {
  auto it = s.fields().find(std::string(name));
  if (it == s.fields().end()) return Bad(path, name, "missing");
  if (it->second.kind_case() != kind) return Bad(path, name, absl::StrCat("must be ", kind_name));
  return &it->second;
}

}  // namespace

absl::StatusOr<Struct> ParseJsonObject(absl::string_view json, absl::string_view what) {
  Struct s;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &s);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a JSON object: ", std::string(status.message())));
  }
  return s;
}

absl::StatusOr<const Struct*> GetObject(const Struct& s, absl::string_view name,
                                        absl::string_view path) {
  ASSIGN_OR_RETURN(const Value* v, Find(s, name, path, Value::kStructValue, "an object"));
  return &v->struct_value();
}

absl::StatusOr<const Struct*> GetOptionalObject(const Struct& s, absl::string_view name,
                                                absl::string_view path) {
  if (s.fields().find(std::string(name)) == s.fields().end()) return nullptr;
  return GetObject(s, name, path);
}

absl::StatusOr<const ListValue*> GetList(const Struct& s, absl::string_view name,
                                         absl::string_view path) {
  ASSIGN_OR_RETURN(const Value* v, Find(s, name, path, Value::kListValue, "a list"));
  return &v->list_value();
}

absl::StatusOr<std::string> GetString(const Struct& s, absl::string_view name,
                                      absl::string_view path) {
  ASSIGN_OR_RETURN(const Value* v, Find(s, name, path, Value::kStringValue, "a string"));
  return v->string_value();
}

absl::StatusOr<int64_t> GetInt(const Struct& s, absl::string_view name, int64_t min, int64_t max,
                               absl::string_view path) {
  ASSIGN_OR_RETURN(const Value* v, Find(s, name, path, Value::kNumberValue, "a number"));
  double d = v->number_value();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(min) ||
      d > static_cast<double>(max)) {
    return Bad(path, name, absl::StrCat("must be an integer in [", min, ", ", max, "]"));
  }
  return static_cast<int64_t>(d);
}

absl::StatusOr<std::string> GetHexBytes(const Struct& s, absl::string_view name, std::size_t size,
                                        absl::string_view path) {
  ASSIGN_OR_RETURN(std::string hex, GetString(s, name, path));
  auto bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != size) {
    return Bad(path, name, absl::StrCat("must be ", size, " hex-encoded bytes"));
  }
  return *bytes;
}

absl::StatusOr<absl::Time> GetTime(const Struct& s, absl::string_view name,
                                   absl::string_view path) {
  ASSIGN_OR_RETURN(std::string text, GetString(s, name, path));
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return Bad(path, name, absl::StrCat("not an RFC 3339 time: ", err));
  }
  return t;
}

absl::StatusOr<std::vector<std::string>> GetOptionalStringList(const Struct& s,
                                                               absl::string_view name,
                                                               absl::string_view path) {
  std::vector<std::string> out;
  if (s.fields().find(std::string(name)) == s.fields().end()) return out;
  ASSIGN_OR_RETURN(const ListValue* list, GetList(s, name, path));
  for (const Value& v : list->values()) {
    if (v.kind_case() != Value::kStringValue) return Bad(path, name, "must hold strings");
    out.push_back(v.string_value());
  }
  return out;
}

absl::StatusOr<const Struct*> ListObject(const ListValue& list, int i, absl::string_view path) {
  const Value& v = list.values(i);
  if (v.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError(absl::StrCat(path, "[", i, "]: must be an object"));
  }
  return &v.struct_value();
}

}  // namespace tdx
}  // namespace kb
