#ifndef KB_UNLOCKER_CLI_CRYPTTAB_H_
#define KB_UNLOCKER_CLI_CRYPTTAB_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// One line of /etc/crypttab: "name source [key [options]]".
struct CrypttabEntry {
  std::string name;
  std::string source;  // "UUID=...", "PARTUUID=...", "LABEL=...", or a path
  std::string key;     // "none", "-" or a key file
  std::string options;
};

// Parses crypttab(5) text; comments and blank lines are skipped. INVALID_ARGUMENT naming the
// line for a line with fewer than two fields.
absl::StatusOr<std::vector<CrypttabEntry>> ParseCrypttab(absl::string_view text);

// The device path of a crypttab source: UUID=/PARTUUID=/LABEL= map to /dev/disk/by-*/.
std::string ResolveCrypttabSource(const std::string& source);

}  // namespace kb

#endif  // KB_UNLOCKER_CLI_CRYPTTAB_H_
