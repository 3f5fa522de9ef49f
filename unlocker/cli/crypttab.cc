#include "unlocker/cli/crypttab.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kb {

absl::StatusOr<std::vector<CrypttabEntry>> ParseCrypttab(absl::string_view text) {
  std::vector<CrypttabEntry> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("crypttab line ", line_number, ": needs at least a name and a source"));
    }
    f.resize(4);
    out.push_back({f[0], f[1], f[2].empty() ? "none" : f[2], f[3]});
  }
  return out;
}

std::string ResolveCrypttabSource(const std::string& source) {
  for (const auto& [prefix, dir] :
       {std::pair<absl::string_view, absl::string_view>{"UUID=", "/dev/disk/by-uuid/"},
        {"PARTUUID=", "/dev/disk/by-partuuid/"},
        {"LABEL=", "/dev/disk/by-label/"}}) {
    if (absl::StartsWith(source, prefix)) {
      return absl::StrCat(dir, absl::StripPrefix(source, prefix));
    }
  }
  return source;
}

}  // namespace kb
