#include "keybroker/service/distinguished_name.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kb {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads one attribute starting at `pos`; leaves `pos` after its separator (',', ';' or '+').
absl::StatusOr<DnAttribute> ParseAttribute(absl::string_view dn, size_t& pos) {
  const size_t eq = dn.find('=', pos);
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", dn.substr(pos), "' is not TYPE=value"));
  }
  DnAttribute a;
  a.type = std::string(absl::StripAsciiWhitespace(dn.substr(pos, eq - pos)));
  absl::AsciiStrToUpper(&a.type);
  if (a.type.empty()) return absl::InvalidArgumentError("an attribute has an empty type");
  for (char c : a.type) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return absl::InvalidArgumentError(absl::StrCat("'", a.type, "' is not an attribute type"));
    }
  }
  size_t i = eq + 1;
  size_t kept = 0;  // length of `value` up to its last escaped (significant) character
  for (; i < dn.size() && dn[i] != ',' && dn[i] != ';' && dn[i] != '+'; ++i) {
    if (dn[i] != '\\') {
      if (a.value.empty() && dn[i] == ' ') continue;  // leading spaces
      a.value.push_back(dn[i]);
      continue;
    }
    if (i + 1 >= dn.size()) return absl::InvalidArgumentError("a dangling '\\' escape");
    const int hi = HexDigit(dn[i + 1]);
    const int lo = i + 2 < dn.size() ? HexDigit(dn[i + 2]) : -1;
    if (hi >= 0 && lo >= 0) {
      a.value.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      a.value.push_back(dn[++i]);
    }
    kept = a.value.size();
  }
  // Trailing unescaped spaces are not part of the value.
  while (a.value.size() > kept && a.value.back() == ' ') a.value.pop_back();
  if (a.value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("attribute ", a.type, " has an empty value"));
  }
  pos = i < dn.size() ? i + 1 : i;
  return a;
}

}  // namespace

absl::StatusOr<std::vector<DnAttribute>> ParseDistinguishedName(absl::string_view dn) {
  std::vector<DnAttribute> out;
  if (absl::StripAsciiWhitespace(dn).empty()) {
    return absl::InvalidArgumentError("empty distinguished name");
  }
  size_t pos = 0;
  while (pos < dn.size()) {
    absl::StatusOr<DnAttribute> a = ParseAttribute(dn, pos);
    if (!a.ok()) return a.status();
    out.push_back(*std::move(a));
  }
  if (!dn.empty() && (dn.back() == ',' || dn.back() == ';' || dn.back() == '+')) {
    return absl::InvalidArgumentError("a trailing separator");
  }
  return out;
}

std::string CanonicalDn(const std::vector<DnAttribute>& dn) {
  std::string out;
  for (const DnAttribute& a : dn) {
    // Lengths make the form unambiguous whatever bytes the values hold.
    absl::StrAppend(&out, a.type.size(), ":", a.type, "=", a.value.size(), ":", a.value, ";");
  }
  return out;
}

}  // namespace kb
