#ifndef KB_UNLOCKER_CLI_UNLOCK_TARGETS_H_
#define KB_UNLOCKER_CLI_UNLOCK_TARGETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "unlocker/cli/crypttab.h"

namespace kb {

// A volume to unlock and the /dev/mapper name to give it ("" for --test).
struct UnlockTarget {
  std::string device;
  std::string name;
};

// The crypttab entry named `name` as a target. NOT_FOUND if there is none.
absl::StatusOr<UnlockTarget> CrypttabTarget(const std::vector<CrypttabEntry>& crypttab,
                                            const std::string& name);

// Every block device under `sys_block` (normally /sys/class/block) that is LUKS2 with a keybroker
// token and not open yet. Named after its crypttab entry when one lists it (by path, UUID, ...),
// else "luks-<UUID>" as systemd-cryptsetup does. Devices that cannot be read are skipped.
std::vector<UnlockTarget> DiscoverKeybrokerVolumes(
    const std::vector<CrypttabEntry>& crypttab, const std::string& sys_block = "/sys/class/block",
    const std::string& dev_dir = "/dev");

}  // namespace kb

#endif  // KB_UNLOCKER_CLI_UNLOCK_TARGETS_H_
