#include "keybroker/service/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kb {

absl::Status ValidateName(absl::string_view field, absl::string_view value) {
  if (value.empty() || value.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be 1 to 128 characters"));
  }
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " may contain only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMachine(absl::string_view field, absl::string_view value) {
  if (value.empty() || value.size() > 256) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be 1 to 256 characters"));
  }
  for (char c : value) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

}  // namespace kb
