#include "keybroker/verifiers/api/claims.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kb {
namespace {

// JSON string escaping for the ASCII-ish values we emit.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

std::string ClaimsToJson(const Claims& claims) {
  std::string out = absl::StrCat("{\n  \"evidence_type\": ", Quote(claims.evidence_type),
                                 ",\n  \"machine\": ", Quote(claims.machine), ",\n  \"pcrs\": {");
  const char* bank_sep = "";
  for (const auto& [bank, values] : claims.pcrs) {
    absl::StrAppend(&out, bank_sep, "\n    ", Quote(bank), ": {");
    const char* sep = "";
    for (const auto& [index, digest] : values) {
      absl::StrAppend(&out, sep, "\n      \"", index, "\": ", Quote(digest));
      sep = ",";
    }
    absl::StrAppend(&out, values.empty() ? "}" : "\n    }");
    bank_sep = ",";
  }
  absl::StrAppend(&out, claims.pcrs.empty() ? "}" : "\n  }", ",\n  \"attributes\": {");
  const char* sep = "";
  for (const auto& [name, value] : claims.attributes) {
    absl::StrAppend(&out, sep, "\n    ", Quote(name), ": ", Quote(value));
    sep = ",";
  }
  absl::StrAppend(&out, claims.attributes.empty() ? "}" : "\n  }", "\n}\n");
  return out;
}

}  // namespace kb
