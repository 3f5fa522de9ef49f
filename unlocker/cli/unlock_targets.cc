#include "unlocker/cli/unlock_targets.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "unlocker/luks/cryptsetup_volume.h"

namespace kb {
namespace {

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::vector<std::string> BlockDevices(const std::string& sys_block) {
  std::vector<std::string> out;
  DIR* dir = opendir(sys_block.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name[0] == '.' || absl::StartsWith(name, "dm-") || absl::StartsWith(name, "ram") ||
        absl::StartsWith(name, "zram")) {
      continue;
    }
    out.push_back(name);
  }
  closedir(dir);
  return out;
}

// The crypttab name for `device` (matched by resolved path), or "".
std::string CrypttabNameFor(const std::vector<CrypttabEntry>& crypttab, const std::string& device,
                            const std::string& uuid) {
  for (const CrypttabEntry& e : crypttab) {
    if (e.source == absl::StrCat("UUID=", uuid) ||
        RealPath(ResolveCrypttabSource(e.source)) == RealPath(device)) {
      return e.name;
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<UnlockTarget> CrypttabTarget(const std::vector<CrypttabEntry>& crypttab,
                                            const std::string& name) {
  for (const CrypttabEntry& e : crypttab) {
    if (e.name == name) return UnlockTarget{ResolveCrypttabSource(e.source), e.name};
  }
  return absl::NotFoundError(absl::StrCat("no crypttab entry named '", name, "'"));
}

std::vector<UnlockTarget> DiscoverKeybrokerVolumes(const std::vector<CrypttabEntry>& crypttab,
                                                   const std::string& sys_block,
                                                   const std::string& dev_dir) {
  std::vector<UnlockTarget> out;
  for (const std::string& name : BlockDevices(sys_block)) {
    const std::string device = absl::StrCat(dev_dir, "/", name);
    auto volume = CryptsetupVolume::Open(device);
    if (!volume.ok()) continue;
    auto tokens = (*volume)->ListTokens();
    if (!tokens.ok() || tokens->empty()) continue;
    const std::string uuid = (*volume)->uuid();
    std::string map = CrypttabNameFor(crypttab, device, uuid);
    if (map.empty()) map = absl::StrCat("luks-", uuid);
    if (Exists(absl::StrCat(dev_dir, "/mapper/", map))) continue;  // already open
    out.push_back({device, map});
  }
  return out;
}

}  // namespace kb
