#ifndef KB_KEYBROKER_SERVICE_DISTINGUISHED_NAME_H_
#define KB_KEYBROKER_SERVICE_DISTINGUISHED_NAME_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// One attribute of a distinguished name: its type in upper case ("CN", "O") and its value
// with RFC 4514 escapes undone.
struct DnAttribute {
  std::string type;
  std::string value;
  bool operator==(const DnAttribute&) const = default;
};

// Parses an RFC 4514 string ("CN=bob,O=Example", as gRPC reports a certificate's subject) into
// its attributes in order. Escapes ("\,", "\2C") are undone, spaces around types and values are
// dropped, types compare case-insensitively. INVALID_ARGUMENT for an attribute without '=', an
// empty type or value, or a dangling escape.
absl::StatusOr<std::vector<DnAttribute>> ParseDistinguishedName(absl::string_view dn);

// A canonical form of parsed attributes: equal for equal DNs, never equal to a different DN.
std::string CanonicalDn(const std::vector<DnAttribute>& dn);

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_DISTINGUISHED_NAME_H_
