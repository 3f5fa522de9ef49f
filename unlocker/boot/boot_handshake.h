#ifndef KB_UNLOCKER_BOOT_BOOT_HANDSHAKE_H_
#define KB_UNLOCKER_BOOT_BOOT_HANDSHAKE_H_

// kbunlock's side of the initramfs script's boot (docs/boot.md): one kbunlock process reads
// the tokens, waits for the devices they attest with, and only then asks the script to bring
// the network up, so that a boot with no keybroker token, or nothing to attest with, never
// configures the network.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "unlocker/volume/volume.h"

namespace kb {

// The attesters `tokens` need, each once, in order: "tpm" (tpm and azure evidence, and an snp
// or tdx token that a vTPM wrote or whose offline copy it holds), "snp", "tdx". `forced` is
// the kind --evidence names, which replaces each token's own; "" or "auto" leaves it to the
// token.
std::vector<std::string> AttestersNeeded(const std::vector<KeybrokerToken>& tokens,
                                         absl::string_view forced = "");

// Where each attester appears: the TPM's device node, the SEV-SNP guest device, the
// configfs-tsm report directory. An empty path is not waited for.
struct AttesterPaths {
  std::string tpm;
  std::string sev_guest;
  std::string tsm_report_dir;
};

// The device node of a `device:PATH` TCTI; "" for any other TCTI (a socket, a simulator),
// which has no node to wait for.
std::string TpmDevicePath(const std::string& tcti);

// Waits until every attester in `needed` has appeared, or `wait` has passed. OK when at least
// one of them is there (`say` names each that did not come: volumes that need it fall back to
// their passphrase); UNAVAILABLE, tagged kTpmUnavailable, when none is.
absl::Status WaitForAttesters(const std::vector<std::string>& needed, const AttesterPaths& paths,
                              absl::Duration wait,
                              const std::function<void(const std::string&)>& say);

// Writes the line "network" to `path`, the script's cue to bring the network up: normally its
// FIFO (never blocking: a FIFO nobody reads is an error), else a file, created when missing.
// INTERNAL with the reason when it cannot.
absl::Status RequestNetwork(const std::string& path);

}  // namespace kb

#endif  // KB_UNLOCKER_BOOT_BOOT_HANDSHAKE_H_
