#include "unlocker/token_plugin/plugin_settings.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"

namespace kb {
namespace {

// VALUE without its quotes and without a trailing comment. False for unbalanced quotes.
bool Unquote(absl::string_view raw, std::string* out) {
  raw = absl::StripAsciiWhitespace(raw);
  if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
    const size_t end = raw.find(raw.front(), 1);
    if (end == absl::string_view::npos) return false;
    absl::string_view rest = absl::StripAsciiWhitespace(raw.substr(end + 1));
    if (!rest.empty() && rest.front() != '#') return false;
    *out = std::string(raw.substr(1, end - 1));
    return true;
  }
  const size_t comment = raw.find(" #");
  *out = std::string(absl::StripAsciiWhitespace(raw.substr(0, comment)));
  return true;
}

absl::Status SetSeconds(absl::string_view value, absl::Duration* out) {
  int seconds = 0;
  if (!absl::SimpleAtoi(value, &seconds) || seconds <= 0) {
    return absl::InvalidArgumentError("not a positive number of seconds");
  }
  *out = absl::Seconds(seconds);
  return absl::OkStatus();
}

absl::Status Apply(absl::string_view name, const std::string& value, PluginSettings& s) {
  if (name == "KEYBROKER_CA") s.ca_file = value;
  if (name == "KEYBROKER_TCTI") s.tcti = value;
  if (name == "KEYBROKER_SEV_GUEST") s.sev_guest = value;
  if (name == "KEYBROKER_TSM_REPORT_DIR") s.tsm_report_dir = value;
  if (name == "KEYBROKER_TIMEOUT") return SetSeconds(value, &s.timeout);
  if (name == "KEYBROKER_OFFLINE_AFTER") return SetSeconds(value, &s.offline_after);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PluginSettings> ParsePluginSettings(absl::string_view text) {
  PluginSettings settings;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    absl::ConsumePrefix(&line, "export ");
    const size_t eq = line.find('=');
    std::string value;
    if (eq == absl::string_view::npos || eq == 0 || !Unquote(line.substr(eq + 1), &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": not NAME=VALUE (shell syntax)"));
    }
    if (absl::Status s = Apply(line.substr(0, eq), value, settings); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", line.substr(0, eq), ": ", s.message()));
    }
  }
  return settings;
}

std::string PluginConfDir() {
  const char* dir = std::getenv("KEYBROKER_CONFDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/etc/keybroker";
}

absl::StatusOr<PluginSettings> LoadPluginSettings(const std::string& dir) {
  const std::string path = dir + "/initramfs.conf";
  auto text = ReadFile(path);
  if (absl::IsNotFound(text.status())) return PluginSettings();
  if (!text.ok()) return text.status();
  auto settings = ParsePluginSettings(*text);
  if (!settings.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", settings.status().message()));
  }
  return settings;
}

}  // namespace kb
