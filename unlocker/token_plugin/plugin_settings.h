#ifndef KB_UNLOCKER_TOKEN_PLUGIN_PLUGIN_SETTINGS_H_
#define KB_UNLOCKER_TOKEN_PLUGIN_PLUGIN_SETTINGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// The guest's keybroker settings, as the initramfs reads them: /etc/keybroker/initramfs.conf
// (docs/boot.md), the same file for the libcryptsetup token plugin.
struct PluginSettings {
  std::string ca_file = "/etc/keybroker/ca.pem";                 // KEYBROKER_CA
  std::string tcti = "device:/dev/tpmrm0";                       // KEYBROKER_TCTI
  absl::Duration timeout = absl::Seconds(60);                    // KEYBROKER_TIMEOUT
  absl::Duration offline_after = absl::Seconds(10);              // KEYBROKER_OFFLINE_AFTER
  std::string sev_guest = "/dev/sev-guest";                      // KEYBROKER_SEV_GUEST
  std::string tsm_report_dir = "/sys/kernel/config/tsm/report";  // KEYBROKER_TSM_REPORT_DIR
};

// Parses the shell-syntax settings file: NAME=VALUE lines (VALUE optionally in single or
// double quotes), comments and blank lines; names it does not use are skipped (the file also
// holds the initramfs's own). INVALID_ARGUMENT naming the line for anything else, and for a
// time that is not a positive number of seconds.
absl::StatusOr<PluginSettings> ParsePluginSettings(absl::string_view text);

// The folder with the guest's settings: $KEYBROKER_CONFDIR, else /etc/keybroker.
std::string PluginConfDir();

// ParsePluginSettings of `dir`/initramfs.conf; the defaults when the file does not exist.
absl::StatusOr<PluginSettings> LoadPluginSettings(const std::string& dir);

}  // namespace kb

#endif  // KB_UNLOCKER_TOKEN_PLUGIN_PLUGIN_SETTINGS_H_
