// kbunlock-software-snp: kbunlock with SEV-SNP firmware in software in place of the sev-guest
// driver. --sev-guest names the firmware's directory (tests/fakes/make_fake_snp.sh). For tests
// and the boot tests' guests only; never installed.
#include "tests/fakes/software_sev_guest.h"
#include "unlocker/wiring.h"

namespace kb::kbunlock {

absl::StatusOr<std::unique_ptr<SevGuestDevice>> OpenSevGuestDevice(const std::string& path) {
  auto device = SoftwareSevGuest::Load(path);
  if (!device.ok()) return device.status();
  return std::unique_ptr<SevGuestDevice>(std::move(*device));
}

}  // namespace kb::kbunlock
