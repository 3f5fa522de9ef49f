#include "tests/integration/plugin_cryptsetup.h"

#include <unistd.h>

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kb {
namespace {

constexpr char kPluginDir[] = "/usr/lib/x86_64-linux-gnu/cryptsetup";

}  // namespace

PluginCryptsetup::PluginCryptsetup(const std::string& dir)
    : conf_(dir + "/conf"), plugins_(dir + "/plugins") {}

absl::StatusOr<std::unique_ptr<PluginCryptsetup>> PluginCryptsetup::Create(const std::string& dir) {
  std::unique_ptr<PluginCryptsetup> plugin(new PluginCryptsetup(dir));
  for (const std::vector<std::string>& step :
       {std::vector<std::string>{"/bin/mkdir", "-p", plugin->conf_, plugin->plugins_},
        {"/bin/cp", BinaryPath("token_plugin/libcryptsetup-token-keybroker.so"),
         plugin->plugins_}}) {
    CommandResult r = RunCommand(step);
    if (r.exit_code != 0) {
      return absl::InternalError(absl::StrCat(step[0], " failed: ", r.output));
    }
  }
  return plugin;
}

bool PluginCryptsetup::PluginLoads(std::string* why) {
  if (geteuid() != 0) {
    *why = "needs root (a mount namespace for the plugin folder)";
    return false;
  }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The plugin's settings parser and the flows it runs are tested in this build by their own
  // tests.
  *why = "a sanitizer build's plugin does not load into the system's cryptsetup";
  return false;
#else
  return true;
#endif
}

void PluginCryptsetup::WriteSettings(const std::string& ca_file, const std::string& tcti,
                                     int timeout_seconds, int offline_after_seconds) const {
  std::ofstream(conf_ + "/initramfs.conf")
      << "# as the initramfs reads it\nKEYBROKER_CA=\"" << ca_file << "\"\nKEYBROKER_TCTI=" << tcti
      << "\nKEYBROKER_TIMEOUT=" << timeout_seconds
      << "\nKEYBROKER_OFFLINE_AFTER=" << offline_after_seconds << "\n";
}

CommandResult PluginCryptsetup::RunWherePluginIsInstalled(const std::string& command) const {
  const std::string script = absl::StrCat("mount --bind '", plugins_, "' ", kPluginDir,
                                          " && KEYBROKER_CONFDIR='", conf_, "' exec ", command);
  return RunCommand(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script});
}

CommandResult PluginCryptsetup::Run(const std::string& args) const {
  return RunWherePluginIsInstalled(absl::StrCat("/sbin/cryptsetup ", args, " 2>&1"));
}

CommandResult PluginCryptsetup::OpenWithToken(const std::string& image) const {
  return Run(
      absl::StrCat("open -v --test-passphrase --token-only --token-type keybroker '", image, "'"));
}

}  // namespace kb
