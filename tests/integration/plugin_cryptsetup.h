#ifndef KB_TESTS_INTEGRATION_PLUGIN_CRYPTSETUP_H_
#define KB_TESTS_INTEGRATION_PLUGIN_CRYPTSETUP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/broker_process.h"

namespace kb {

// The real cryptsetup 2.6 with the build's libcryptsetup-token-keybroker.so as its only external
// token plugin. libcryptsetup loads plugins only from its compiled-in folder, so each command
// runs in a private mount namespace with a copy of the plugin bind-mounted over that folder (the
// host's folder is untouched). Needs root; a sanitizer build's plugin does not load into the
// uninstrumented cryptsetup (PluginLoads says so).
class PluginCryptsetup {
 public:
  // Keeps a copy of the build's plugin and its settings in `dir` (created).
  static absl::StatusOr<std::unique_ptr<PluginCryptsetup>> Create(const std::string& dir);

  // Whether this process can run the plugin here; `why` says why not.
  static bool PluginLoads(std::string* why);

  // Settings as the initramfs writes them (KEYBROKER_CONFDIR points the plugin at them).
  void WriteSettings(const std::string& ca_file, const std::string& tcti, int timeout_seconds,
                     int offline_after_seconds = 2) const;

  // `cryptsetup ARGS` (stdout and stderr together).
  CommandResult Run(const std::string& args) const;

  // `cryptsetup open --test-passphrase --token-only --token-type keybroker IMAGE`.
  CommandResult OpenWithToken(const std::string& image) const;

  // `COMMAND...` in the namespace where the plugin is installed.
  CommandResult RunWherePluginIsInstalled(const std::string& command) const;

  const std::string& conf_dir() const { return conf_; }

 private:
  explicit PluginCryptsetup(const std::string& dir);

  std::string conf_, plugins_;
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_PLUGIN_CRYPTSETUP_H_
