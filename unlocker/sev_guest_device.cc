// kbunlock's SEV-SNP guest device: the Linux sev-guest driver's (see OpenSevGuestDevice in
// wiring.h; test binaries link another definition).
#include "unlocker/wiring.h"

namespace kb::kbunlock {

absl::StatusOr<std::unique_ptr<SevGuestDevice>> OpenSevGuestDevice(const std::string& path) {
  auto device = DevSevGuest::Open(path);
  if (!device.ok()) return device.status();
  return std::unique_ptr<SevGuestDevice>(std::move(*device));
}

}  // namespace kb::kbunlock
