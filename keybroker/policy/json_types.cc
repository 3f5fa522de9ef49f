#include "keybroker/policy/json_types.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Value;

absl::Status CheckMessage(const Value& v, const Descriptor* d, const std::string& where);

absl::Status CheckScalar(const Value& v, const FieldDescriptor* f, const std::string& where) {
  auto wrong = [&](absl::string_view want) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy is not valid: ", where, ": expected ", want));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return v.has_bool_value() ? absl::OkStatus() : wrong("true or false");
    case FieldDescriptor::CPPTYPE_STRING:
      return v.has_string_value() ? absl::OkStatus() : wrong("a string");
    case FieldDescriptor::CPPTYPE_ENUM:
      return v.has_string_value() || v.has_number_value() ? absl::OkStatus() : wrong("an enum");
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return CheckMessage(v, f->message_type(), where);
    default:
      return v.has_number_value() ? absl::OkStatus() : wrong("a number");
  }
}

absl::Status CheckField(const Value& v, const FieldDescriptor* f, const std::string& where) {
  if (f->is_map()) {
    if (!v.has_struct_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy is not valid: ", where, ": expected an object"));
    }
    const FieldDescriptor* value_field = f->message_type()->map_value();
    for (const auto& [key, entry] : v.struct_value().fields()) {
      RETURN_IF_ERROR(CheckScalar(entry, value_field, absl::StrCat(where, ".", key)));
    }
    return absl::OkStatus();
  }
  if (f->is_repeated()) {
    if (!v.has_list_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy is not valid: ", where, ": expected an array"));
    }
    for (int i = 0; i < v.list_value().values_size(); ++i) {
      RETURN_IF_ERROR(CheckScalar(v.list_value().values(i), f, absl::StrCat(where, "[", i, "]")));
    }
    return absl::OkStatus();
  }
  return CheckScalar(v, f, where);
}

absl::Status CheckMessage(const Value& v, const Descriptor* d, const std::string& where) {
  if (!v.has_struct_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy is not valid: ", where.empty() ? "policy" : where, ": expected an object"));
  }
  for (const auto& [name, field_value] : v.struct_value().fields()) {
    const FieldDescriptor* f = d->FindFieldByName(name);
    for (int i = 0; f == nullptr && i < d->field_count(); ++i) {
      if (d->field(i)->json_name() == name) f = d->field(i);
    }
    if (f == nullptr || field_value.has_null_value()) continue;  // the parser decides
    RETURN_IF_ERROR(
        CheckField(field_value, f, where.empty() ? name : absl::StrCat(where, ".", name)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckJsonTypes(absl::string_view json, const Descriptor* descriptor) {
  Value root;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &root);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy is not valid: ", std::string(status.message())));
  }
  return CheckMessage(root, descriptor, "");
}

}  // namespace kb
